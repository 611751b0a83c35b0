import fc from 'fast-check';

/** The keys that can reach a prototype when parsed data is later merged or assigned. */
export type ForbiddenWord = '__proto__' | 'constructor' | 'prototype';

/** Where, and how deep, a forbidden key is planted in a JSON object. */
export interface ProtoPlant {
  word: ForbiddenWord;
  /** Spell one character of the key as a `\u00XX` escape, which JSON.parse decodes back. */
  escapeAt: number | null;
  /** The object it is planted in: the root, the watermark, or an object inside an array. */
  target: 'root' | 'watermark' | 'array';
  /** How many objects down from the target. */
  depth: number;
  value: unknown;
}

export const protoPlantArb: fc.Arbitrary<ProtoPlant> = fc.record({
  word: fc.constantFrom<ForbiddenWord>('__proto__', 'constructor', 'prototype'),
  escapeAt: fc.option(fc.nat(), { freq: 3 }),
  target: fc.constantFrom<ProtoPlant['target']>('root', 'watermark', 'array'),
  depth: fc.integer({ min: 0, max: 6 }),
  value: fc.oneof(
    fc.constant({ polluted: 'yes' }),
    fc.constant({ prototype: { polluted: 'yes' } }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
});

/** The key as JSON text: `"__proto__"`, or with one character escaped. */
function keyText(word: string, escapeAt: number | null): string {
  if (escapeAt === null) return JSON.stringify(word);
  const i = escapeAt % word.length;
  const escape = `\\u${word.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return `"${word.slice(0, i)}${escape}${word.slice(i + 1)}"`;
}

/** `"k":v` for a planted key `depth` objects down: `"p0":{"p1":{…{KEY:VALUE}}}`. */
function plantedEntry(plant: ProtoPlant, word: string): string {
  let value = JSON.stringify(plant.value) ?? 'null';
  // A control carries no forbidden key anywhere, its value included.
  if (word !== plant.word) value = value.replace(/"(__proto__|constructor|prototype)"/g, '"harmless"');
  let entry = `${keyText(word, plant.escapeAt)}:${value}`;
  for (let level = plant.depth - 1; level >= 0; level--) entry = `"p${level}":{${entry}}`;
  return entry;
}

function objectText(object: Record<string, unknown>, extra: string[] = []): string {
  const entries = Object.entries(object).map(
    ([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`,
  );
  return `{${[...entries, ...extra].join(',')}}`;
}

/**
 * The JSON text of `payload` with `plant` in it. With `word` set to a harmless key instead of
 * the plant's own, the same text is a control that must be accepted.
 */
export function plantInto(
  payload: Record<string, unknown>,
  plant: ProtoPlant,
  word: string = plant.word,
): string {
  const entry = plantedEntry(plant, word);
  const { watermark, ...rest } = payload;
  // Without a watermark (rawData), a watermark plant goes to the root.
  const target = plant.target === 'watermark' && watermark === undefined ? 'root' : plant.target;
  const extra = target === 'root' ? [entry] : target === 'array' ? [`"list":[1,{${entry}}]`] : [];
  if (watermark !== undefined) {
    const watermarkText =
      target === 'watermark'
        ? objectText(watermark as Record<string, unknown>, [entry])
        : JSON.stringify(watermark);
    extra.push(`"watermark":${watermarkText}`);
  }
  return objectText(rest, extra);
}

/** The own property names of the built-in prototypes: a pollution changes them. */
export function prototypeSnapshot(): string {
  return JSON.stringify(
    [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((proto) =>
      Object.getOwnPropertyNames(proto)
        .sort()
        .map((name) => `${name}:${typeof Object.getOwnPropertyDescriptor(proto, name)?.value}`),
    ),
  );
}
