#!/usr/bin/env node
// Reference oracle for openledger_chain/merkle.py: runs @openzeppelin/merkle-tree on JSON read
// from stdin and prints JSON results, so many trees cost one node start-up.
//
// Input (one of):
//   {"cases": [{"id", "values", "leafEncoding", "options"?, "multiProofs"?: [[i, ...], ...],
//               "leafHashes"?: [value, ...]}],
//    "loads": [dump, ...]}
//   {"bench": {"values", "leafEncoding", "sample": [i, ...]}}
// Output:
//   {"cases": [{"id", "root", "proofs", "dump" (JSON.stringify text), "multiProofs", "leafHashes"}
//              | {"id", "error": {"name", "message"}}],
//    "loads": [{"root"} | {"error": {...}}]}
//   {"root", "buildSeconds", "proofsSeconds", "sampleProofs"}
'use strict';

const fs = require('fs');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

function errorOf(e) {
  return { name: e.name, message: e.message };
}

function runCase(c) {
  try {
    const tree = StandardMerkleTree.of(c.values, c.leafEncoding, c.options || {});
    const proofs = c.values.map((_, i) => tree.getProof(i));
    return {
      id: c.id,
      root: tree.root,
      proofs,
      dump: JSON.stringify(tree.dump()),
      multiProofs: (c.multiProofs || []).map(indices => tree.getMultiProof(indices)),
      leafHashes: (c.leafHashes || []).map(v => tree.leafHash(v)),
    };
  } catch (e) {
    return { id: c.id, error: errorOf(e) };
  }
}

function runLoad(dump) {
  try {
    return { root: StandardMerkleTree.load(dump).root };
  } catch (e) {
    return { error: errorOf(e) };
  }
}

function runBench({ values, leafEncoding, sample }) {
  const seconds = start => Number(process.hrtime.bigint() - start) / 1e9;
  let start = process.hrtime.bigint();
  const tree = StandardMerkleTree.of(values, leafEncoding);
  const buildSeconds = seconds(start);
  start = process.hrtime.bigint();
  // The documented way to get every proof: getProof(i) per entry (it self-verifies each proof).
  const proofs = values.map((_, i) => tree.getProof(i));
  const proofsSeconds = seconds(start);
  return { root: tree.root, buildSeconds, proofsSeconds, sampleProofs: sample.map(i => proofs[i]) };
}

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const output = input.bench
  ? runBench(input.bench)
  : { cases: (input.cases || []).map(runCase), loads: (input.loads || []).map(runLoad) };
process.stdout.write(JSON.stringify(output));
