// Types of scripts/check-deps.mjs, for test/package/dependencies.test.ts.
export interface DependencyExceptions {
  neededNotImported: Record<string, string>;
  importedNotNeeded: Record<string, string[]>;
}
export const NEEDED_NOT_IMPORTED: Record<string, string>;
export const IMPORTED_NOT_NEEDED: Record<string, string[]>;
export function packageOf(specifier: string): string | null;
export function importedPackages(root: string): Map<string, string[]>;
export function checkDependencies(root: string, exceptions?: DependencyExceptions): string[];
