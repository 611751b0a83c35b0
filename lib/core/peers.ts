/**
 * Which of `packages` a failed `import()` or `require()` says is not installed: only a "not found"
 * (`ERR_MODULE_NOT_FOUND`, `MODULE_NOT_FOUND`) whose message names exactly that package, quoted as
 * Node quotes it. Anything else (a package that is there but fails to load, one of its own
 * dependencies missing, a network error) is not a missing peer: `undefined`.
 *
 * @internal
 */
export function missingPackageIn(error: unknown, packages: readonly string[]): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  if (typeof message !== 'string') return undefined;
  return packages.find((name) => message.includes(`'${name}'`));
}

/**
 * The problem line of a missing optional peer, the same for the module's options and the stores:
 * `redis needs the optional peer dependencies keyv and @keyv/redis: npm install keyv @keyv/redis`.
 *
 * @internal
 */
export function missingPeerProblem(
  needs: string,
  missing: readonly string[],
  install: readonly string[] = missing,
): string {
  return (
    `${needs} needs the optional peer ${missing.length === 1 ? 'dependency' : 'dependencies'} ` +
    `${missing.join(' and ')}: npm install ${install.join(' ')}`
  );
}
