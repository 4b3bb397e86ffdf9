/**
 * A reader for the block-style YAML that PaddleClas and PaddleX write for inference configs
 * (`yaml.dump` output): nested mappings and sequences, `- - x` nested sequences, plain and quoted
 * scalars, flow sequences `[a, b]`, anchors (`&id`) and aliases (`*id`), comments. Not a general YAML parser.
 */

export type YamlValue = null | boolean | number | string | YamlValue[] | { [k: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

export class YamlError extends Error {}

function stripComment(s: string): string {
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = undefined;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

export function parseYaml(text: string, file = 'yaml'): YamlValue {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = stripComment(raw).replace(/\s+$/, '');
    if (!t.trim() || t.trim() === '---') return;
    if (/^\t/.test(t)) throw new YamlError(`${file}:${i + 1}: tabs are not allowed for indentation`);
    lines.push({ indent: t.length - t.trimStart().length, text: t.trim(), no: i + 1 });
  });
  const anchors = new Map<string, YamlValue>();
  let pos = 0;

  const scalar = (s: string, no: number): YamlValue => {
    s = s.trim();
    let anchor: string | undefined;
    const am = /^&(\S+)\s*(.*)$/.exec(s);
    if (am) {
      anchor = am[1];
      s = am[2]!;
    }
    let v: YamlValue;
    if (s.startsWith('*')) {
      const a = s.slice(1);
      if (!anchors.has(a)) throw new YamlError(`${file}:${no}: unknown alias *${a}`);
      v = anchors.get(a)!;
    } else if (s.startsWith('[')) v = flowSeq(s, no);
    else if (s === '{}') v = {};
    else if (s.startsWith('"')) {
      try {
        v = JSON.parse(s) as string;
      } catch {
        throw new YamlError(`${file}:${no}: bad double-quoted string ${s}`);
      }
    } else if (s.startsWith("'")) {
      if (!s.endsWith("'") || s.length < 2) throw new YamlError(`${file}:${no}: unterminated string ${s}`);
      v = s.slice(1, -1).replace(/''/g, "'");
    } else if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') v = null;
    else if (/^(true|True|TRUE)$/.test(s)) v = true;
    else if (/^(false|False|FALSE)$/.test(s)) v = false;
    else if (/^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$/.test(s) && /\d/.test(s)) v = Number(s.replace(/_/g, ''));
    else if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) v = s.startsWith('-') ? -Infinity : Infinity;
    else v = s;
    if (anchor) anchors.set(anchor, v);
    return v;
  };

  const flowSeq = (s: string, no: number): YamlValue[] => {
    if (!s.endsWith(']')) throw new YamlError(`${file}:${no}: unterminated flow sequence ${s}`);
    const inner = s.slice(1, -1).trim();
    if (!inner) return [];
    const items: string[] = [];
    let depth = 0;
    let q: string | undefined;
    let cur = '';
    for (const c of inner) {
      if (q) {
        if (c === q) q = undefined;
      } else if (c === '"' || c === "'") q = c;
      else if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === ',' && depth === 0) {
        items.push(cur);
        cur = '';
        continue;
      }
      cur += c;
    }
    items.push(cur);
    return items.map((x) => scalar(x, no));
  };

  /** Parse the block starting at `lines[pos]` with exactly `indent`. */
  const block = (indent: number): YamlValue => {
    const first = lines[pos]!;
    if (first.text.startsWith('- ') || first.text === '-') return sequence(indent);
    return mapping(indent);
  };

  const valueAfter = (rest: string, parentIndent: number, no: number): YamlValue => {
    // `key: value`, or `key:` (optionally `key: &anchor`) followed by a deeper block
    const am = /^&(\S+)$/.exec(rest.trim());
    if (rest.trim() === '' || am) {
      const next = lines[pos];
      let v: YamlValue = null;
      if (next && (next.indent > parentIndent || (next.indent === parentIndent && next.text.startsWith('- ')))) v = block(next.indent);
      if (am) anchors.set(am[1]!, v);
      return v;
    }
    return scalar(rest, no);
  };

  const mapping = (indent: number): { [k: string]: YamlValue } => {
    const out: { [k: string]: YamlValue } = {};
    while (pos < lines.length && lines[pos]!.indent === indent && !lines[pos]!.text.startsWith('- ')) {
      const line = lines[pos]!;
      const m = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(?:\s+(.*)|$)/.exec(line.text);
      if (!m) throw new YamlError(`${file}:${line.no}: expected 'key: value' but found ${JSON.stringify(line.text)}`);
      pos++;
      const key = String(scalar(m[1]!, line.no));
      out[key] = valueAfter(m[2] ?? '', indent, line.no);
    }
    if (pos < lines.length && lines[pos]!.indent > indent) {
      throw new YamlError(`${file}:${lines[pos]!.no}: unexpected indentation`);
    }
    return out;
  };

  const sequence = (indent: number): YamlValue[] => {
    const out: YamlValue[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && (lines[pos]!.text.startsWith('- ') || lines[pos]!.text === '-')) {
      const line = lines[pos]!;
      const rest = line.text === '-' ? '' : line.text.slice(2);
      const inner = indent + 2 + (rest.length - rest.trimStart().length);
      if (rest.trim() === '') {
        pos++;
        const next = lines[pos];
        out.push(next && next.indent > indent ? block(next.indent) : null);
      } else if (rest.trimStart().startsWith('- ') || /^("[^"]*"|'[^']*'|[^:[\]{}"']+?)\s*:(\s|$)/.test(rest.trimStart())) {
        // nested sequence or mapping on the same line: re-read this line as a block at the inner indent
        lines[pos] = { indent: inner, text: rest.trimStart(), no: line.no };
        out.push(block(inner));
      } else {
        pos++;
        out.push(scalar(rest, line.no));
      }
    }
    return out;
  };

  if (lines.length === 0) return null;
  const v = block(lines[0]!.indent);
  if (pos < lines.length) throw new YamlError(`${file}:${lines[pos]!.no}: unexpected content ${JSON.stringify(lines[pos]!.text)}`);
  return v;
}
