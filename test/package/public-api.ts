// The public API as its users see it: every name src/index.ts exports, and whether a doc
// comment comes with it (on the export itself or on what it names).
import path from 'node:path';
import ts from 'typescript';

export interface PublicExport {
  name: string;
  /** Where the exported thing is declared, relative to the repository. */
  declaredIn: string;
  documented: boolean;
  kind: 'value' | 'type';
}

const hasDocComment = (node: ts.Node): boolean => ts.getJSDocCommentsAndTags(node).length > 0 || /\/\*\*[\s\S]*\*\/\s*$/.test(leadingText(node));

function leadingText(node: ts.Node): string {
  const sf = node.getSourceFile();
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  return ranges.map((r) => sf.text.slice(r.pos, r.end)).join('\n');
}

export function publicExports(root: string): PublicExport[] {
  const entry = path.join(root, 'src/index.ts');
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json: not readable');
  const program = ts.createProgram([entry], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(module).map((symbol) => {
    // Each hop from src/index.ts to the declaration may carry the doc comment: an export
    // specifier in an index, or the declaration itself.
    let documented = false;
    let current = symbol;
    for (let hops = 0; current.flags & ts.SymbolFlags.Alias && hops < 10; hops += 1) {
      for (const d of current.declarations ?? []) if (ts.isExportSpecifier(d) && hasDocComment(d)) documented = true;
      current = checker.getImmediateAliasedSymbol(current) ?? current;
    }
    const declaration = current.declarations?.[0];
    if (declaration) {
      const holder = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
      if (hasDocComment(holder) || current.getDocumentationComment(checker).length > 0) documented = true;
    }
    return {
      name: symbol.name,
      declaredIn: declaration ? path.relative(root, declaration.getSourceFile().fileName) : '?',
      documented,
      kind: current.flags & ts.SymbolFlags.Value ? 'value' : 'type',
    };
  });
}
