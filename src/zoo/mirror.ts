/** Download mirrors: how one is checked, and a model's URL under it (no download code loads with these). */

/** `https://host/a/b.tar` with mirror `http://127.0.0.1:8080/m/` → `http://127.0.0.1:8080/m/a/b.tar`. */
export function mirrorUrl(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const u = new URL(url);
  const base = mirror.endsWith('/') ? mirror : `${mirror}/`;
  return new URL(u.pathname.replace(/^\//, '') + u.search, base).toString();
}

/**
 * A mirror must be an http(s) URL with a host: a RangeError (a bad command line) naming where it came from
 * and the expected form otherwise (`127.0.0.1:8765` lacks its scheme).
 */
export function checkMirror(mirror: string, from: 'option' | 'env'): string {
  let u: URL | undefined;
  try {
    u = new URL(mirror);
  } catch {
    u = undefined;
  }
  if (u && (u.protocol === 'http:' || u.protocol === 'https:') && u.host) return mirror;
  const where = from === 'env' ? 'PPLCNET_MIRROR' : "--mirror (the 'mirror' option)";
  const guess = /^[\w.-]+(:\d+)?(\/.*)?$/.test(mirror) ? `; did you mean http://${mirror}?` : '';
  throw new RangeError(`${where}: expected an http or https URL with a host, such as --mirror http://host:port or PPLCNET_MIRROR=https://mirror.example/paddle, but received ${JSON.stringify(mirror)}${guess}`);
}
