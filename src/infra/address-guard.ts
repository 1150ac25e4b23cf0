/**
 * Which addresses outbound calls may reach: the SSRF guard's rules, apart from the sockets that apply them
 * (http.ts). An address is checked as it is connected to — a literal host as written (`http://[::127.0.0.1]/`),
 * a name after every one of its DNS answers — so no spelling of an address escapes the check.
 *
 * Public unicast only: IPv4 outside the private, loopback, link-local, shared, documentation, multicast and
 * reserved ranges; IPv6 inside 2000::/3 outside its documentation and benchmarking ranges. IPv6 forms that carry
 * an IPv4 address are judged by that address: IPv4-mapped `::ffff:a.b.c.d` (the socket reaches a.b.c.d itself),
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16` and Teredo `2001::/32`. Everything else (`::`, `::1`, IPv4-compatible
 * `::a.b.c.d`, `fc00::/7`, `fe80::/10`, `fec0::/10`, `ff00::/8` ...) lies outside 2000::/3 and is refused.
 *
 * OUTBOUND_ALLOW_PRIVATE opens exceptions: an address or CIDR range, optionally with a port (`127.0.0.1:8080`,
 * `10.0.0.0/8:443`, `[::1]:8080`, `[fd00::/8]:443`; IPv6 takes brackets when a port follows). An entry without a
 * port opens every port of its addresses; `true` opens every address but the unspecified ones (0.0.0.0, `::`).
 */
import net from 'node:net';

export interface AllowEntry {
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  prefix: number;
  port?: number;
}

export type AllowPolicy = true | AllowEntry[];

/** Parse an IP address (IPv6 with an optional zone, dotted IPv4 tail allowed) to 4 or 16 bytes; null if it is none. */
export function parseAddress(text: string): Uint8Array | null {
  const address = text.replace(/%.*$/, '');
  const family = net.isIP(address);
  if (family === 4) return new Uint8Array(address.split('.').map(Number));
  if (family !== 6) return null;
  let head = address;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = dotted[1]!.split('.').map(Number);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    head = address.slice(0, -dotted[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').filter((w) => w !== '').map((w) => parseInt(w, 16)) : []);
  const l = words(left);
  const r = [...words(right), ...tail];
  const groups = right === undefined && !head.includes('::') ? [...l, ...tail] : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

function inRange(bytes: Uint8Array, base: Uint8Array, prefix: number): boolean {
  if (bytes.length !== base.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if ((bytes[bit / 8]! & mask) !== (base[bit / 8]! & mask)) return false;
  }
  return true;
}

function cidr(text: string): [Uint8Array, number] {
  const [address, prefix] = text.split('/');
  return [parseAddress(address!)!, Number(prefix)];
}

const NOT_PUBLIC_V4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24',
  '224.0.0.0/4', '240.0.0.0/4',
].map(cidr);
const GLOBAL_V6 = cidr('2000::/3');
const NOT_PUBLIC_V6 = ['2001:db8::/32', '2001:2::/48', '2001:10::/28', '2001:20::/28', '3fff::/20'].map(cidr);
const MAPPED = cidr('::ffff:0:0/96');
const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
const TEREDO = cidr('2001::/32');

/** The IPv4 address an IPv4-mapped IPv6 address stands for; other addresses as they are. */
function unmap(bytes: Uint8Array): Uint8Array {
  return bytes.length === 16 && inRange(bytes, ...MAPPED) ? bytes.slice(12) : bytes;
}

function isPublic(bytes: Uint8Array): boolean {
  if (bytes.length === 4) return !NOT_PUBLIC_V4.some(([base, prefix]) => inRange(bytes, base, prefix));
  if (inRange(bytes, ...MAPPED) || inRange(bytes, ...NAT64)) return isPublic(bytes.slice(12));
  if (inRange(bytes, ...SIX_TO_FOUR)) return isPublic(bytes.slice(2, 6));
  if (inRange(bytes, ...TEREDO)) return isPublic(bytes.slice(4, 8)) && isPublic(bytes.slice(12).map((b) => b ^ 0xff));
  return inRange(bytes, ...GLOBAL_V6) && !NOT_PUBLIC_V6.some(([base, prefix]) => inRange(bytes, base, prefix));
}

function isUnspecified(bytes: Uint8Array): boolean {
  return unmap(bytes).every((b) => b === 0);
}

/** Parse OUTBOUND_ALLOW_PRIVATE's entries; throws naming the first entry that is not an address, a range or either with a port. */
export function parseAllowList(entries: string[]): AllowEntry[] {
  return entries.map((entry) => {
    const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? (entry.split(':').length === 2 ? /^([^:]+):(\d+)$/.exec(entry) : null);
    const [range, port] = match ? [match[1]!, match[2]] : [entry, undefined];
    const [address, prefixText] = range.split('/');
    const bytes = parseAddress(address!);
    const prefix = prefixText === undefined ? (bytes?.length ?? 0) * 8 : /^\d+$/.test(prefixText) ? Number(prefixText) : -1;
    const portNumber = port === undefined ? undefined : Number(port);
    if (!bytes || prefix < 0 || prefix > bytes.length * 8 || (portNumber !== undefined && (portNumber < 1 || portNumber > 65535))) {
      throw new Error(`"${entry}" is not an address or CIDR range, optionally with a port (127.0.0.1:8080, [::1]:8080)`);
    }
    return { bytes: unmap(bytes), prefix: bytes.length === 16 && unmap(bytes).length === 4 ? Math.max(0, prefix - 96) : prefix, port: portNumber };
  });
}

/** Why `address:port` may not be reached, or null when it may. `address` is an IP address as connected to. */
export function refusal(address: string, port: number, allow: AllowPolicy): string | null {
  const parsed = parseAddress(address);
  if (!parsed) return `${address} is not an IP address`;
  if (isUnspecified(parsed)) return `${address} is the unspecified address, which is not allowed`;
  if (allow === true) return null;
  const bytes = unmap(parsed);
  if (allow.some((entry) => (entry.port === undefined || entry.port === port) && inRange(bytes, entry.bytes, entry.prefix))) return null;
  if (isPublic(parsed)) return null;
  return `${address} (port ${port}) is a private, loopback or link-local address, which is not allowed`;
}
