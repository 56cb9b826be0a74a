/**
 * Packaging rules, checked on the sources (no build needed): the default entry reaches no Node
 * module; every export of both entries has JSDoc with an example; the declarations the SDK
 * publishes contain no `any`; package.json has the exports map, bin and flags it should.
 */
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const SDK = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(SDK, 'src');
const SCHEMA = path.join(SDK, '../api/src/index.ts');
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Every module specifier `file` imports or re-exports (type-only ones included). */
function importsOf(file: string): string[] {
  return ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The import graph from `entry` within the SDK sources: files reached and bare specifiers. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('entry points', () => {
  it('the default (browser / React Native) entry imports no Node module, directly or through the server schemas', () => {
    const { files, packages } = graph(path.join(SRC, 'index.ts'));
    expect([...packages].filter((p) => BUILTINS.has(p))).toEqual([]);
    expect([...packages].sort()).toEqual(['@haul/api', 'tus-js-client', 'zod']);
    expect([...files].some((f) => f.includes(`${path.sep}node${path.sep}`))).toBe(false);
    // '@haul/api' must stay free of Node imports too: zod is the only package it reaches.
    const contract = graph(SCHEMA);
    expect(contract.files.size).toBeGreaterThan(3);
    expect([...contract.packages]).toEqual(['zod']);
  });

  it('the node entry adds Node modules', () => {
    const { packages } = graph(path.join(SRC, 'node/index.ts'));
    expect([...packages].filter((p) => BUILTINS.has(p)).length).toBeGreaterThan(0);
  });

  it('package.json: exports with browser/react-native/node conditions, types, bin, side-effect free', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(SDK, 'package.json'), 'utf8')) as Record<string, unknown> & {
      exports: Record<string, Record<string, string>>;
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(pkg.name).toBe('@haul/client');
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.exports['.']).toMatchObject({ types: './dist/index.d.ts', browser: './dist/index.js', 'react-native': './dist/index.js', default: './dist/index.js' });
    expect(Object.keys(pkg.exports['.']!)[0]).toBe('types');
    expect(pkg.exports['./node']).toMatchObject({ types: './dist/node/index.d.ts', node: './dist/node/index.js' });
    expect(pkg.bin).toEqual({ 'haul-upload': './bin/haul-upload.js' });
    const shim = path.join(SDK, 'bin/haul-upload.js');
    expect(fs.readFileSync(shim, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    if (process.platform !== 'win32') expect(fs.statSync(shim).mode & 0o111).not.toBe(0);
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@haul/api', 'tus-js-client', 'zod']);
  });
});

describe('declarations', () => {
  let program: ts.Program;
  const declarations = new Map<string, string>();

  // Compiling the SDK takes a few seconds alone, several times that on a loaded 2-core machine.
  beforeAll(() => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(SDK, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    program = ts.createProgram({
      rootNames: config.fileNames,
      options: {
        ...config.options,
        // The server schema from source, so no build is needed.
        paths: { '@haul/api': [SCHEMA] },
        composite: false,
        incremental: false,
        declaration: true,
        emitDeclarationOnly: true,
        declarationMap: false,
        sourceMap: false,
        rootDir: undefined,
        outDir: '/virtual',
      },
    });
    program.emit(undefined, (file, text) => {
      if (file.includes('/client-sdk/src/') || !file.includes('/api/src/')) declarations.set(file, text);
    });
  }, 60_000);

  it('the SDK compiles', () => {
    const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
    expect(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });

  it('no `any` in any published declaration', () => {
    expect(declarations.size).toBeGreaterThan(10);
    const offenders: string[] = [];
    for (const [file, text] of declarations) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const line of code.split('\n')) if (/\bany\b/.test(line)) offenders.push(`${path.basename(file)}: ${line.trim()}`);
    }
    expect(offenders).toEqual([]);
  });

  it.each(['index.ts', 'node/index.ts'])('every export of %s has JSDoc with an @example', (entry) => {
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(path.join(SRC, entry))!;
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
    expect(exports.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const exported of exports) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const documented = (symbol.declarations ?? []).some((declaration) =>
        ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === 'example' && ts.getTextOfJSDocComment(tag.comment)?.trim()),
      );
      if (!documented) missing.push(exported.name);
    }
    expect(missing).toEqual([]);
  });
});
