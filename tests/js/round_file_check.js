#!/usr/bin/env node
// Reference check of a round file by a third-party client: plain JSON.parse, ethers v6 and
// @openzeppelin/merkle-tree only, following docs/round-file.md (nothing from this package).
//
// Usage: node tests/js/round_file_check.js ROUND_FILE
//        node tests/js/round_file_check.js --canonical JSON_FILE   (prints the canonical JSON of any value)
// Prints JSON: every hash recomputed from the file, the roots of the tree rebuilt from the
// cumulative amounts and of the tree dump, the EIP-712 digest, the signers it recovers, and the sums.
'use strict';

const fs = require('fs');
const { ethers } = require('ethers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

// Canonical JSON: keys sorted, no whitespace, strings as JSON.stringify writes them (UTF-8, no \u escapes
// for non-ASCII).
function canonical(value) {
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    return '{' + Object.keys(value).sort().map(k => JSON.stringify(k) + ':' + canonical(value[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}

const keccakText = text => ethers.keccak256(ethers.toUtf8Bytes(text));

function scoresHash(scores) {
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const ordered = [...scores].sort((a, b) => (BigInt(a.account) < BigInt(b.account) ? -1 : 1));
  let running = ethers.ZeroHash;
  for (const s of ordered) {
    running = ethers.keccak256(coder.encode(['bytes32', 'address', 'int256', 'uint256'],
      [running, s.account, BigInt(s.score), BigInt(s.amount)]));
  }
  return running;
}

const ROUND_TYPES = {
  Round: [
    { name: 'modelId', type: 'uint256' },
    { name: 'roundId', type: 'uint256' },
    { name: 'merkleRoot', type: 'bytes32' },
    { name: 'emission', type: 'uint256' },
    { name: 'cumulativeEmission', type: 'uint256' },
    { name: 'scoresHash', type: 'bytes32' },
    { name: 'methodHash', type: 'bytes32' },
    { name: 'roundFileHash', type: 'bytes32' },
    { name: 'deadline', type: 'uint256' },
    { name: 'bondsRoot', type: 'bytes32' },
  ],
};

function main() {
  if (process.argv[2] === '--canonical') {
    process.stdout.write(canonical(JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))));
    return;
  }
  const file = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const body = file.body;
  const roundFileHash = keccakText(canonical(body));
  const domain = {
    name: 'OpenLedger RewardDistributor',
    version: '1',
    chainId: BigInt(body.chainId),
    verifyingContract: body.distributor,
  };
  const message = {
    modelId: BigInt(body.modelId),
    roundId: BigInt(body.roundId),
    merkleRoot: body.merkleRoot,
    emission: BigInt(body.emission),
    cumulativeEmission: BigInt(body.cumulativeEmission),
    scoresHash: body.scoresHash,
    methodHash: body.methodHash,
    roundFileHash,
    deadline: BigInt(body.deadline),
    // Issue 23: the signed root of the bond decisions (a file from before bonds has none: a zero root).
    bondsRoot: body.bondsRoot ?? ethers.ZeroHash,
  };
  const digest = ethers.TypedDataEncoder.hash(domain, ROUND_TYPES, message);
  const rebuilt = StandardMerkleTree.of(body.cumulative.map(c => [c.account, c.amount]), ['address', 'uint256']);
  const dumped = StandardMerkleTree.load(body.tree);
  dumped.validate();
  // The bonds tree rebuilt from the listed decisions, as ContributionBonds checks its leaves: (uint256 id, uint8
  // decision), 1 released, 2 forfeited; no decision, no tree (a zero root).
  const decisions = (body.bonds && body.bonds.decisions) || [];
  const bondsRootRebuilt = decisions.length === 0 ? ethers.ZeroHash : StandardMerkleTree.of(
    decisions.map(d => [d.id, { released: 1, forfeited: 2 }[d.outcome]]), ['uint256', 'uint8']).root;
  const sum = items => items.reduce((total, item) => total + BigInt(item.amount), 0n).toString();
  console.log(JSON.stringify({
    version: body.version,
    roundFileHash,
    methodHash: keccakText(canonical(body.method)),
    scoresHash: scoresHash(body.scores),
    rebuiltRoot: rebuilt.root,
    dumpRoot: dumped.root,
    digest,
    signers: file.signatures.map(signature => ethers.recoverAddress(digest, signature)),
    scoresAmountSum: sum(body.scores),
    cumulativeAmountSum: sum(body.cumulative),
    emission: body.emission,
    cumulativeEmission: body.cumulativeEmission,
    deadline: body.deadline,
    bondsRoot: message.bondsRoot,
    bondsRootRebuilt,
  }));
}

main();
