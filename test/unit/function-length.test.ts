/**
 * No function in src/ is longer than 80 lines. Every function, method, accessor, constructor, function
 * expression and arrow function is measured with the TypeScript parser, from the line its declaration starts
 * on to the line its body ends on; a nested function counts inside its parent too. A long function names
 * itself by its declaration, or by the variable, property or call argument that holds it
 * (`predictCommand > action()`).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../helpers.js';

/** The longest a function in src/ may be, in lines. */
const MAX_LINES = 80;

interface FunctionLength {
  readonly name: string;
  readonly line: number;
  readonly lines: number;
}

/** The name a function node goes by: its own, or that of what holds it. */
function functionName(node: ts.Node, source: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name !== undefined && !ts.isComputedPropertyName(named.name)) return named.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent) && ts.isPropertyAccessExpression(parent.expression)) {
    return `${parent.expression.name.text}()`;
  }
  if (ts.isCallExpression(parent)) return `${parent.expression.getText(source)}()`;
  return '<anonymous>';
}

/** Every function-like node in one source text with its length in lines, outer names joined by ` > `. */
function functionLengths(fileName: string, text: string): FunctionLength[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: FunctionLength[] = [];
  const visit = (node: ts.Node, outer: string): void => {
    let path = outer;
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const name = functionName(node, source);
      path = outer === '' ? name : `${outer} > ${name}`;
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ name: path, line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, (child) => visit(child, path));
  };
  visit(source, '');
  return found;
}

/** Every .ts file under a folder, as paths relative to the repository with `/` separators. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join(posix.sep))
    .sort();
}

/** The functions over the limit in src/, as `file:name` → length. */
function longFunctions(): Map<string, FunctionLength> {
  const long = new Map<string, FunctionLength>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const fn of functionLengths(file, readFileSync(join(ROOT, file), 'utf8'))) {
      if (fn.lines > MAX_LINES) long.set(`${file}:${fn.name}`, fn);
    }
  }
  return long;
}

describe('function length', () => {
  test(`no function in src/ is over ${MAX_LINES} lines`, () => {
    const offenders = [...longFunctions()].map(([key, fn]) => `${key} (line ${fn.line}): ${fn.lines} lines`);
    assert.deepEqual(offenders, [], `split these into named functions that each do one thing:\n${offenders.join('\n')}`);
  });

  test('the count fails on a made-up 81-line function and passes an 80-line one', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    // 79 body lines + the opening and closing lines = 81
    const text = `export function tooLong(): void {\n${body(79)}\n}\nconst fits = (): void => {\n${body(78)}\n};\n`;
    const lengths = functionLengths('made-up.ts', text);
    assert.deepEqual(lengths, [
      { name: 'tooLong', line: 1, lines: 81 },
      { name: 'fits', line: 82, lines: 80 },
    ]);
    assert.deepEqual(lengths.filter((fn) => fn.lines > MAX_LINES).map((fn) => fn.name), ['tooLong']);
  });

  test('nested functions are named through what holds them', () => {
    const text = [
      'export function cmd() {',
      '  program.action(async () => {',
      '    const run = function () { return 1; };',
      '    return { go() { return run(); } };',
      '  });',
      '}',
      'class A { constructor() {} get x() { return 1; } }',
    ].join('\n');
    assert.deepEqual(functionLengths('made-up.ts', text).map((fn) => [fn.name, fn.lines]), [
      ['cmd', 6],
      ['cmd > action()', 4],
      ['cmd > action() > run', 1],
      ['cmd > action() > go', 1],
      ['constructor', 1],
      ['x', 1],
    ]);
  });
});
