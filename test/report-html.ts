/**
 * Reading the report pages back in tests: elements and their attributes by a regular expression over the
 * markup (the pages are written by our own code, one element per tag), a tag-balance check, and the linear
 * map an axis's ticks define.
 */
import assert from 'node:assert/strict';

export interface Element {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Where the tag starts in the page. */
  readonly index: number;
}

/** Undo the page's escaping of text and attribute values. */
export function unescapeHtml(s: string): string {
  return s.replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!);
}

/** Every start tag named `tag` (with a `class` containing `cls`, when given). */
export function elements(html: string, tag: string, cls?: string): Element[] {
  const out: Element[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}(\\s[^>]*)?>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = unescapeHtml(a[2]!);
    if (cls && !(attrs.class ?? '').split(/\s+/).includes(cls)) continue;
    out.push({ tag, attrs, index: m.index! });
  }
  return out;
}

/** A number attribute, asserted present and finite. */
export function attr(e: Element, name: string): number {
  const v = Number(e.attrs[name]);
  assert.ok(e.attrs[name] !== undefined && Number.isFinite(v), `<${e.tag}> has no numeric ${name}: ${JSON.stringify(e.attrs)}`);
  return v;
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);

/** Every element closed in order (void HTML elements and `<x/>` excepted); returns the tags seen. */
export function assertBalanced(html: string): number {
  const stack: string[] = [];
  let seen = 0;
  const body = html.replace(/<!DOCTYPE[^>]*>/i, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    const tag = name!.toLowerCase();
    seen++;
    if (selfClose || (!close && VOID.has(tag))) continue;
    if (close) {
      const open = stack.pop();
      assert.equal(open, tag, `</${tag}> at ${m.index} closes <${open}>`);
    } else stack.push(tag);
  }
  assert.deepEqual(stack, [], 'every element is closed');
  return seen;
}

/** The svg elements' markup, in order. */
export function svgs(html: string): string[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/**
 * The value → coordinate map of an axis from its ticks (`<g class="{cls}" data-value>` holding a line at
 * `coord`): asserts the ticks lie on one line and their text is their value; returns value → coordinate.
 */
export function tickScale(svg: string, cls: 'ytick' | 'xtick', coord: 'y1' | 'x1'): (v: number) => number {
  const ticks = [...svg.matchAll(new RegExp(`<g class="${cls}" data-value="([^"]+)"><line[^>]*\\s${coord}="([^"]+)"[^>]*/><text[^>]*>([^<]*)</text>`, 'g'))].map((m) => ({
    value: Number(m[1]),
    at: Number(m[2]),
    text: m[3]!,
  }));
  assert.ok(ticks.length >= 2, `${cls}: ${ticks.length} ticks`);
  const [a, b] = [ticks[0]!, ticks[ticks.length - 1]!];
  const slope = (b.at - a.at) / (b.value - a.value);
  for (const t of ticks) {
    assert.ok(Math.abs(a.at + (t.value - a.value) * slope - t.at) < 0.02, `${cls} ${t.value} at ${t.at} is off the line`);
    assert.equal(Number(t.text), t.value, `${cls} text ${t.text} is its value ${t.value}`);
  }
  return (v) => a.at + (v - a.value) * slope;
}
