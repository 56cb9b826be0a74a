#!/usr/bin/env node
// The `haul-upload` command (a committed, executable file: tsc does not keep the exec bit on dist/cli.js).
import '../dist/cli.js';
