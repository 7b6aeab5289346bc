#!/usr/bin/env python3
"""Stand-in for the GCE metadata server's guest attributes (boot lab only).

Serves /computeMetadata/v1/instance/guest-attributes/NS/KEY: PUT stores, GET reads, DELETE removes. Like the real
server it refuses requests without `Metadata-Flavor: Google`. Every request is appended to the log as JSON.
usage: metadata-server.py PORT LOGFILE   (PORT 0: any free port, printed on stdout)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/computeMetadata/v1/instance/guest-attributes/"
attributes = {}
log_path = sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        with open(log_path, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path, "flavor": self.headers.get("Metadata-Flavor"), "body": body}) + "\n")
        if self.headers.get("Metadata-Flavor") != "Google":
            return self._reply(403, "Missing Metadata-Flavor:Google header.")
        if not self.path.startswith(PREFIX):
            return self._reply(404, "not found")
        key = self.path[len(PREFIX):]
        if self.command == "PUT":
            attributes[key] = body
            return self._reply(200, "")
        if self.command == "DELETE":
            return self._reply(200, "") if attributes.pop(key, None) is not None else self._reply(404, "not found")
        if key in attributes:
            return self._reply(200, attributes[key])
        return self._reply(404, "not found")

    def _reply(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_DELETE = _handle

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
