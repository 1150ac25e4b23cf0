/**
 * The globals Rocket.Chat's isolated-vm engine gives integration scripts, written for this sandbox:
 * `s` (string helpers), `Store` (a per-integration key/value store) and `serverFetch` / `fetch`
 * (asynchronous HTTP). Each is source text evaluated inside the isolate before the script, so nothing
 * here runs in the gateway: the host side is reached only through the `__store` and `__fetch` references
 * the sandbox installs (see script-sandbox.ts), and only JSON text crosses.
 *
 * `s` has Rocket.Chat's own helpers (lib/utils/stringUtils: trim, ltrim, rtrim, capitalize, stripTags,
 * truncate, strLeft, strRight, strRightBack, numberFormat, pad, lrpad, wildcardToRegex) plus the
 * Underscore.string functions that scripts written for the older vm2 engine call (escapeHTML, isBlank,
 * lines, clean, startsWith, include ...), so both generations of scripts run.
 */

/** Underscore.string's subset, with Rocket.Chat's own variants where the two differ (see truncate). */
export const STRING_HELPERS = `
const s = (() => {
  const str = (v) => (v === null || v === undefined ? '' : String(v));
  const escapeRegExp = (v) => str(v).replace(/[.*+?^\${}()|[\\]\\\\/-]/g, '\\\\$&');
  const chars = (c) => (!c ? '\\\\s' : c && typeof c === 'object' && 'source' in c ? c.source : '[' + escapeRegExp(c) + ']');
  const HTML = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\\u00a0' };
  const helpers = {
    trim: (v, c) => (c ? str(v).replace(new RegExp('^' + chars(c) + '+|' + chars(c) + '+$', 'g'), '') : str(v).trim()),
    ltrim: (v, c) => (c ? str(v).replace(new RegExp('^' + chars(c) + '+'), '') : str(v).trimStart()),
    rtrim: (v, c) => (c ? str(v).replace(new RegExp(chars(c) + '+$'), '') : str(v).trimEnd()),
    clean: (v) => str(v).trim().replace(/\\s\\s+/g, ' '),
    capitalize: (v, lowerRest) => { const t = str(v); return t.charAt(0).toUpperCase() + (lowerRest ? t.slice(1).toLowerCase() : t.slice(1)); },
    decapitalize: (v) => { const t = str(v); return t.charAt(0).toLowerCase() + t.slice(1); },
    titleize: (v) => str(v).toLowerCase().replace(/(?:^|\\s|-)\\S/g, (c) => c.toUpperCase()),
    camelize: (v, lowerFirst) => { const t = str(v).trim().replace(/[-_\\s]+(.)?/g, (_, c) => (c ? c.toUpperCase() : '')); return lowerFirst ? t.charAt(0).toLowerCase() + t.slice(1) : t; },
    underscored: (v) => str(v).trim().replace(/([a-z\\d])([A-Z]+)/g, '$1_$2').replace(/[-\\s]+/g, '_').toLowerCase(),
    dasherize: (v) => str(v).trim().replace(/([A-Z])/g, '-$1').replace(/[-_\\s]+/g, '-').toLowerCase(),
    humanize: (v) => helpers.capitalize(helpers.underscored(v).replace(/_id$/, '').replace(/_/g, ' ').trim()),
    slugify: (v) => str(v).normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase().replace(/[^\\w\\s-]/g, '-').trim().replace(/[-\\s]+/g, '-').replace(/^-+|-+$/g, ''),
    swapCase: (v) => str(v).replace(/\\S/g, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())),
    escapeHTML: (v) => str(v).replace(/[&<>"']/g, (c) => HTML[c]),
    unescapeHTML: (v) => str(v).replace(/&(#x[0-9a-f]+|#\\d+|[a-z]+);/gi, (m, e) => {
      if (e[0] === '#') { const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10); return Number.isFinite(n) ? String.fromCodePoint(n) : m; }
      return Object.prototype.hasOwnProperty.call(ENTITIES, e.toLowerCase()) ? ENTITIES[e.toLowerCase()] : m;
    }),
    stripTags: (v) => str(v).replace(/<\\/?[^>]+>/g, ''),
    // Rocket.Chat's truncate(str, length) keeps length characters in all, '...' included; Underscore.string's
    // truncate(str, length, ending) keeps length characters and appends the ending.
    truncate: (v, length, ending) => {
      const t = str(v);
      if (ending === undefined) return t.length > length ? t.slice(0, Math.max(0, length - 3)) + '...' : t;
      return t.length > length ? t.slice(0, length) + str(ending) : t;
    },
    prune: (v, length, ending = '...') => { const t = str(v); if (t.length <= length) return t; const cut = t.slice(0, length + 1).replace(/\\s+\\S*$/, ''); return (cut.length > length ? cut.slice(0, length) : cut) + ending; },
    startsWith: (v, start, pos = 0) => str(v).startsWith(str(start), pos),
    endsWith: (v, end, pos) => str(v).endsWith(str(end), pos === undefined ? undefined : pos),
    include: (v, needle) => (needle === '' ? true : str(v).includes(str(needle))),
    contains: (v, needle) => helpers.include(v, needle),
    isBlank: (v) => /^\\s*$/.test(str(v)),
    lines: (v) => (v === null || v === undefined ? [] : str(v).split(/\\r\\n?|\\n/)),
    words: (v, sep) => (helpers.isBlank(v) ? [] : helpers.trim(v, sep).split(sep === undefined ? /\\s+/ : sep)),
    chars: (v) => str(v).split(''),
    count: (v, sub) => { const t = str(v), n = str(sub); if (!n) return 0; let c = 0, i = t.indexOf(n); while (i !== -1) { c++; i = t.indexOf(n, i + n.length); } return c; },
    repeat: (v, times, sep) => Array(Math.max(0, Math.floor(Number(times) || 0))).fill(str(v)).join(sep === undefined ? '' : str(sep)),
    reverse: (v) => [...str(v)].reverse().join(''),
    surround: (v, wrap) => str(wrap) + str(v) + str(wrap),
    quote: (v, q = '"') => helpers.surround(v, q),
    unquote: (v, q = '"') => { const t = str(v); return t.length > 1 && t.startsWith(q) && t.endsWith(q) ? t.slice(q.length, -q.length) : t; },
    join: (sep, ...parts) => parts.map(str).join(str(sep)),
    splice: (v, i, howMany, add) => { const a = [...str(v)]; a.splice(~~i, ~~howMany, str(add)); return a.join(''); },
    insert: (v, i, add) => helpers.splice(v, i, 0, add),
    strLeft: (v, sep) => { const t = str(v), p = sep ? t.indexOf(str(sep)) : -1; return ~p ? t.slice(0, p) : t; },
    strRight: (v, sep) => { const t = str(v), x = str(sep), p = x ? t.indexOf(x) : -1; return ~p ? t.slice(p + x.length) : t; },
    strLeftBack: (v, sep) => { const t = str(v), p = sep ? t.lastIndexOf(str(sep)) : -1; return ~p ? t.slice(0, p) : t; },
    strRightBack: (v, sep) => { const t = str(v), x = str(sep), p = x ? t.lastIndexOf(x) : -1; return ~p ? t.slice(p + x.length) : t; },
    numberFormat: (n, dec = 0, dsep = '.', tsep = ',') => {
      if (n === null || n === undefined || isNaN(n)) return '';
      const [whole, frac] = Number(n).toFixed(~~dec).split('.');
      return whole.replace(/(\\d)(?=(?:\\d{3})+$)/g, '$1' + tsep) + (frac ? dsep + frac : '');
    },
    // Rocket.Chat's pad defaults to the right, Underscore.string's to the left: without a type this follows
    // Underscore.string, whose scripts are the older majority (lpad, rpad and lrpad say it outright).
    pad: (v, length, padStr = ' ', type = 'left') => {
      const t = str(v), p = str(padStr).charAt(0) || ' ', n = Math.max(0, ~~length - t.length);
      if (type === 'right') return t + p.repeat(n);
      if (type === 'both') return p.repeat(Math.ceil(n / 2)) + t + p.repeat(Math.floor(n / 2));
      return p.repeat(n) + t;
    },
    lpad: (v, length, padStr) => helpers.pad(v, length, padStr, 'left'),
    rpad: (v, length, padStr) => helpers.pad(v, length, padStr, 'right'),
    lrpad: (v, length, padStr) => helpers.pad(v, length, padStr, 'both'),
    toNumber: (v, dec = 0) => { const t = str(v).trim(); return t === '' ? 0 : Number(Number(t).toFixed(~~dec)); },
    toBoolean: (v, truthy = ['true', 'yes', 'on', '1'], falsy = ['false', 'no', 'off', '0']) => {
      const t = str(v).trim().toLowerCase(); return truthy.includes(t) ? true : falsy.includes(t) ? false : undefined;
    },
    escapeRegExp,
    wildcardToRegex: (pattern) => '^' + escapeRegExp(pattern).replace(/\\\\\\*/g, '.*').replace(/\\\\\\?/g, '.') + '$',
  };
  return Object.freeze(helpers);
})();
globalThis.s = s;
`;

/**
 * Store: Rocket.Chat keeps one per integration in the isolate it caches for the integration, so values
 * outlive a call until the script changes. Each call here gets a fresh isolate, so the store lives in the
 * gateway (`__store`) and values cross as JSON: `Store.get` returns a copy, and a value changed after
 * `Store.set` must be set again to be kept. Without a host store (unit tests) it lasts for one call.
 */
export const STORE = `
const Store = (() => {
  const local = Object.create(null);
  const host = typeof __store === 'object' && __store !== null ? __store : null;
  const call = (args) => host.applySync(undefined, args, { arguments: { copy: true }, result: { copy: true } });
  return Object.freeze({
    set(key, value) {
      const json = value === undefined ? undefined : JSON.stringify(value);
      if (host) call(['set', String(key), json === undefined ? null : json]);
      else local[String(key)] = json;
      return value;
    },
    get(key) {
      const json = host ? call(['get', String(key)]) : local[String(key)];
      return json === undefined || json === null ? undefined : JSON.parse(json);
    },
  });
})();
globalThis.Store = Store;
`;

/**
 * serverFetch / fetch: the request goes out through the gateway's outbound client (SSRF guard, the
 * script's remaining time as its time-out); the answer comes back whole as text, wrapped here in a
 * Response-like object (status, statusText, ok, url, headers.get/has/forEach/entries, text(), json()).
 * Defined only when the host offers HTTP.
 */
export const FETCH = `
if (typeof __fetch === 'object' && __fetch !== null) {
  const host = __fetch;
  const headerPairs = (h) => {
    if (!h) return [];
    if (typeof h.entries === 'function' && !Array.isArray(h)) return [...h.entries()];
    if (Array.isArray(h)) return h.map((p) => [String(p[0]), String(p[1])]);
    return Object.keys(h).map((k) => [k, String(h[k])]);
  };
  class HeadersLike {
    constructor(pairs) { this._map = new Map(); for (const [k, v] of pairs) { const key = String(k).toLowerCase(); this._map.set(key, this._map.has(key) ? this._map.get(key) + ', ' + v : String(v)); } }
    get(name) { const v = this._map.get(String(name).toLowerCase()); return v === undefined ? null : v; }
    has(name) { return this._map.has(String(name).toLowerCase()); }
    forEach(fn, self) { for (const [k, v] of this._map) fn.call(self, v, k, this); }
    entries() { return this._map.entries(); }
    keys() { return this._map.keys(); }
    values() { return this._map.values(); }
    [Symbol.iterator]() { return this._map.entries(); }
    toJSON() { return Object.fromEntries(this._map); }
  }
  globalThis.Headers = HeadersLike;
  const serverFetch = async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input && typeof input.url === 'string' ? input.url : String(input);
    const options = init && typeof init === 'object' ? init : {};
    let body = options.body === undefined || options.body === null ? null : options.body;
    const headers = headerPairs(options.headers);
    if (body !== null && typeof body !== 'string') {
      // Scripts often hand fetch a plain object: send it as JSON, as they meant.
      body = JSON.stringify(body);
      if (!headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['content-type', 'application/json']);
    }
    const request = JSON.stringify({ url, method: String(options.method || 'GET').toUpperCase(), headers, body });
    const answer = JSON.parse(await host.apply(undefined, [request], { arguments: { copy: true }, result: { promise: true, copy: true } }));
    let used = false;
    const read = () => { if (used) throw new TypeError('Body has already been consumed.'); used = true; return answer.body; };
    return Object.freeze({
      status: answer.status,
      statusText: answer.statusText,
      ok: answer.status >= 200 && answer.status < 300,
      redirected: answer.redirected,
      url: answer.url,
      headers: new HeadersLike(answer.headers),
      get bodyUsed() { return used; },
      text: async () => read(),
      json: async () => JSON.parse(read()),
    });
  };
  globalThis.serverFetch = serverFetch;
  globalThis.fetch = serverFetch;
}
`;
