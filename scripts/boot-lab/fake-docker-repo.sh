#!/bin/bash
# Stand-in for download.docker.com (which this lab cannot reach): a signed apt repository with tiny packages
# named like Docker's (docker-ce ships /usr/bin/dockerd as in the real one), signed by a throwaway test key.
#   fake-docker-repo.sh DIR   builds the repository in DIR (served by any static HTTP server) and prints the
#                             test key's fingerprint; DIR/gpg is the armored public key, like $URL/gpg.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir=${1:?usage: fake-docker-repo.sh DIR}
suite=$LAB_SUITE
rm -rf "$dir"
mkdir -p "$dir/pool/stable" "$dir/build"
export GNUPGHOME="$dir/.gnupg"
install -d -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'boot-lab fake Docker repo <boot-lab@invalid>' ed25519 sign never 2>/dev/null
fingerprint=$(gpg --batch --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --armor --export "$fingerprint" >"$dir/gpg"

package() { # name file-path
  local name=$1 file=$2 pkg="$dir/build/$1"
  mkdir -p "$pkg/DEBIAN" "$pkg$(dirname "$file")"
  printf '#!/bin/sh\necho "%s: boot-lab stand-in"\n' "$name" >"$pkg$file"
  chmod 0755 "$pkg$file"
  printf 'Package: %s\nVersion: 99.0.0-lab\nArchitecture: all\nMaintainer: boot lab <boot-lab@invalid>\nDescription: boot-lab stand-in for %s\n' \
    "$name" "$name" >"$pkg/DEBIAN/control"
  dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$dir/pool/stable/${name}_99.0.0-lab_all.deb" >/dev/null
}
package docker-ce /usr/bin/dockerd
package docker-ce-cli /usr/bin/docker
package containerd.io /usr/bin/containerd
package docker-buildx-plugin /usr/libexec/docker/cli-plugins/docker-buildx

release_hashes=''
for arch in amd64 arm64; do
  out="dists/$suite/stable/binary-$arch"
  mkdir -p "$dir/$out"
  (cd "$dir" && dpkg-scanpackages --multiversion pool/stable /dev/null 2>/dev/null) >"$dir/$out/Packages"
  release_hashes+=" $(sha256sum <"$dir/$out/Packages" | cut -d' ' -f1) $(stat -c %s "$dir/$out/Packages") stable/binary-$arch/Packages"$'\n'
done
{
  printf 'Origin: boot-lab\nLabel: boot-lab\nSuite: %s\nCodename: %s\nArchitectures: amd64 arm64\nComponents: stable\n' "$suite" "$suite"
  printf 'Date: %s\nSHA256:\n%s' "$(LC_ALL=C date -u -R)" "$release_hashes"
} >"$dir/dists/$suite/Release"
gpg --batch --quiet --yes --clearsign -o "$dir/dists/$suite/InRelease" "$dir/dists/$suite/Release"
gpg --batch --quiet --yes --armor --detach-sign -o "$dir/dists/$suite/Release.gpg" "$dir/dists/$suite/Release"
rm -rf "$dir/build"
gpgconf --kill gpg-agent 2>/dev/null || true
printf '%s\n' "$fingerprint"
