#!/usr/bin/env node
require('../scripts/ts-register.js');
require('../cli/main.ts').run(process.argv.slice(2));
