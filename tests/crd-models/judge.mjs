// Judges custom resources against the types and validators of an npm models package.
//
// stdin: {"objects": [{"id", "module", "kind", "object"}]}, where "module" is the package's
// module of the kind (e.g. "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret").
// stdout: {"findings": [{"id", "path", "message"}]}.
//
// Two judges, because neither is complete alone:
// - the TypeScript compiler checks each object as a literal of the kind's interface: every field
//   must be a property the interface (or a map's index signature) declares, at any depth, and the
//   compiler rejects a wrong type and a value outside a string-literal union (the CRD's enums);
// - the package's own validator (ajv, generated from the upstream API types) reports every missing
//   required field and checks what types cannot say: formats and patterns.
// A finding's path is the JSON path inside the object, read off the compiler's syntax tree.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// Runs from the directory the packages are installed in (a copy of this one, with node_modules).
const root = path.dirname(fileURLToPath(import.meta.url));

const request = JSON.parse(readFileSync(0, "utf8"));
const findings = [];

// One source file: an import per kind and a typed constant per object.
const imports = new Map();
const lines = [];
const starts = [];
for (const entry of request.objects) {
  if (!imports.has(entry.module)) imports.set(entry.module, `M${imports.size}`);
}
for (const [module, alias] of imports) {
  lines.push(`import type * as ${alias} from ${JSON.stringify(module)};`);
}
request.objects.forEach((entry, index) => {
  starts.push(lines.join("\n").length + 1);
  lines.push(`export const o${index}: ${imports.get(entry.module)}.I${entry.kind} = ${JSON.stringify(entry.object, null, 1)};`);
});
const source = lines.join("\n") + "\n";
const fileName = path.join(root, "judged.ts");

const options = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
};
const host = ts.createCompilerHost(options);
const readFile = host.readFile.bind(host);
const getSourceFile = host.getSourceFile.bind(host);
host.fileExists = ((exists) => (f) => f === fileName || exists(f))(host.fileExists.bind(host));
host.readFile = (f) => (f === fileName ? source : readFile(f));
host.getSourceFile = (f, languageVersion, onError) =>
  f === fileName ? ts.createSourceFile(f, source, languageVersion, true) : getSourceFile(f, languageVersion, onError);
const program = ts.createProgram([fileName], options, host);
const sourceFile = program.getSourceFile(fileName);

function objectIndex(position) {
  let found = -1;
  starts.forEach((start, index) => {
    if (start <= position) found = index;
  });
  return found;
}

function nodeAt(node, position) {
  for (const child of node.getChildren(sourceFile)) {
    if (child.getStart(sourceFile) <= position && position < child.getEnd()) {
      return nodeAt(child, position);
    }
  }
  return node;
}

// The JSON path of a node inside its object literal: property names and array indexes.
function jsonPath(node) {
  const parts = [];
  for (let current = node; current && !ts.isVariableDeclaration(current); current = current.parent) {
    const parent = current.parent;
    if (ts.isPropertyAssignment(current)) {
      parts.unshift(current.name.text);
    } else if (parent && ts.isArrayLiteralExpression(parent)) {
      parts.unshift(`[${parent.elements.indexOf(current)}]`);
    }
  }
  return parts.join(".").replaceAll(".[", "[");
}

// Unknown fields, found by walking every object literal against the type the compiler expects
// there. The compiler reports an excess property only while the literal has no other error;
// this walk reports every unknown field, whatever else is wrong.
const checker = program.getTypeChecker();
const EXCESS_PROPERTY_CODES = new Set([2353, 2561]);

function knows(type, name) {
  // Only object types can hold a literal's fields (an optional field's type adds `undefined`).
  const members = (type.isUnion() ? type.types : [type]).filter((member) => member.flags & ts.TypeFlags.Object);
  return (
    members.length === 0 ||
    members.some((member) => checker.getPropertyOfType(member, name) || checker.getIndexInfosOfType(member).length > 0)
  );
}

function walk(node) {
  if (ts.isObjectLiteralExpression(node)) {
    const expected = checker.getContextualType(node);
    if (expected) {
      for (const property of node.properties) {
        if (ts.isPropertyAssignment(property) && !knows(expected, property.name.text)) {
          const entry = request.objects[objectIndex(property.getStart(sourceFile))];
          findings.push({ id: entry.id, path: jsonPath(property), message: `unknown field "${property.name.text}" (not in ${checker.typeToString(checker.getNonNullableType(expected))})` });
        }
      }
    }
  }
  ts.forEachChild(node, walk);
}
walk(sourceFile);

const diagnostics = ts
  .getPreEmitDiagnostics(program)
  .filter((d) => (!d.file || d.file.fileName === fileName) && !EXCESS_PROPERTY_CODES.has(d.code));
for (const diagnostic of diagnostics) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
  if (diagnostic.start === undefined) {
    findings.push({ id: null, path: "", message });
    continue;
  }
  const entry = request.objects[objectIndex(diagnostic.start)];
  let where = entry ? jsonPath(nodeAt(sourceFile, diagnostic.start)) : "";
  // A missing property is reported on the object that lacks it: name the property itself.
  const missing = /^Property '([^']+)' is missing in type/.exec(message);
  if (missing) where = where ? `${where}.${missing[1]}` : missing[1];
  findings.push({ id: entry ? entry.id : null, path: where, message });
}

for (const entry of request.objects) {
  const module = await import(entry.module);
  const Model = module[entry.kind];
  try {
    new Model(entry.object).validate();
  } catch (error) {
    for (const problem of error.errors || [{ instancePath: "", message: String(error) }]) {
      const where = (problem.instancePath || "").split("/").filter(Boolean);
      if (problem.keyword === "required") where.push(problem.params.missingProperty);
      if (problem.keyword === "additionalProperties") where.push(problem.params.additionalProperty);
      const pathText = where.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
      findings.push({ id: entry.id, path: pathText, message: `${problem.keyword || "invalid"}: ${problem.message}` });
    }
  }
}

process.stdout.write(JSON.stringify({ findings }) + "\n");
