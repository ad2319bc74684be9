// Regenerate src/api/schema.d.ts from the API's OpenAPI document (needs the Python venv;
// the generated file is committed so that building the dashboard needs no Python).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const python = process.env.PYTHON ?? path.join(root, ".venv/bin/python");
const dump = "import json; from api.app import create_app; print(json.dumps(create_app().openapi()))";
const doc = execFileSync(python, ["-c", dump], { cwd: root, encoding: "utf-8" });
const out = path.resolve(here, "../openapi.json");
writeFileSync(out, doc);
execFileSync("npx", ["openapi-typescript", out, "-o", path.resolve(here, "../src/api/schema.d.ts")],
  { stdio: "inherit", cwd: path.resolve(here, "..") });
