// Compile a Solidity standard-JSON input with solc-js: JSON in on stdin, JSON out on stdout.
// `solcjs --standard-json` prints a stray banner line before its JSON; calling the library
// directly does not. The input embeds every source, so no import callback is needed.
"use strict";
const fs = require("fs");

const projectRoot = process.argv[2] || process.cwd();
const solc = require(require.resolve("solc", { paths: [projectRoot] }));
process.stdout.write(solc.compile(fs.readFileSync(0, "utf8")));
process.stdout.write("\n");
