// Generates the protocol types from proto/circle/v1/circle.proto, the contract
// circled and the C++ client share, so the browser speaks exactly the same one.
// Runs protoc (Debian's protobuf-compiler) with protoc-gen-es from node_modules.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoRoot = join(web, "..", "..", "proto");
const out = join(web, "src", "gen");
mkdirSync(out, { recursive: true });
execFileSync(
  "protoc",
  [
    `--plugin=protoc-gen-es=${join(web, "node_modules", ".bin", "protoc-gen-es")}`,
    `--es_out=${out}`,
    "--es_opt=target=ts,import_extension=none",
    `--proto_path=${protoRoot}`,
    join(protoRoot, "circle", "v1", "circle.proto"),
  ],
  { stdio: "inherit" },
);
