// The fenced code blocks of a Markdown file, shared by the README type-check and the consumer apps.

/**
 * The fenced blocks of `markdown`: language, `##` section, 1-based line of the first code line,
 * code, the reason of a `<!-- readme-check: skip (why) -->` marker before it, and the file it
 * names in a first-line comment (`// src/app.module.ts: ...`), if any.
 */
export function readmeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let section = 'top';
  for (let i = 0; i < lines.length; i += 1) {
    const heading = /^## (.+)$/.exec(lines[i]);
    if (heading) section = heading[1];
    const fence = /^```(\w*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end += 1;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before -= 1;
    const skip = /^<!--\s*readme-check:\s*skip\s*\((.+)\)\s*-->$/.exec(lines[before]?.trim() ?? '')?.[1];
    const code = lines.slice(start, end).join('\n');
    const file = /^\/\/\s*([\w./-]+\.ts)\b/.exec(lines[start] ?? '')?.[1];
    blocks.push({ lang: fence[1], section, line: start + 1, code, skip, file });
    i = end;
  }
  return blocks;
}
