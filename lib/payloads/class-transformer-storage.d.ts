// class-transformer ships no declaration file beside its CommonJS metadata storage; the compiled
// transform (compiled-transform.ts) reads it the way @nestjs/mapped-types does, and checks its
// shape at run time, so it is declared here as an opaque value.
declare module 'class-transformer/cjs/storage.js' {
  /** class-transformer's metadata storage singleton, the one its decorators write to. */
  export const defaultMetadataStorage: unknown;
}
