// Prints the mapper's field-level figures over the corpus (test/corpus): correct, wrong (a
// value in the wrong field, or one no person would have put there) and missing.
//   ./ops/mapping-score [--verbose]   lists every field that is not correct with --verbose
import { parseArgs } from "node:util";
import { formatScore, scoreCorpus } from "../test/corpus/score.ts";

const { values } = parseArgs({ options: { verbose: { type: "boolean", short: "v", default: false } } });
console.log(formatScore(scoreCorpus(), values.verbose));
