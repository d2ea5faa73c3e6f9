/**
 * Long decoder-fuzzing runs from the command line (the test suite runs a short one on every run):
 *   node dist/fuzz/run.js [seconds] [seed]        e.g. node dist/fuzz/run.js 600
 * A random seed is chosen and printed unless one is given; a failure prints how to replay it.
 */
import { fuzzDecoder } from './decoder-fuzz.js';

const seconds = Number(process.argv[2] ?? 60);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : Math.floor(Math.random() * 2 ** 31);
console.log(`fuzzing the decoder for ${seconds}s with FUZZ_SEED=${seed}`);
const report = fuzzDecoder({ seed, timeMs: seconds * 1000, maxCases: Number.MAX_SAFE_INTEGER });
console.log(JSON.stringify(report));
