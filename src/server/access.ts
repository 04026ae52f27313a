// Who may talk to `mnist-lab serve`. Three checks run on every request, before routing:
// - Host: only this server's own names with its port: the loopback names (127.0.0.1, localhost,
//   [::1]), the --host value and any --allow-host name; for a wildcard bind (0.0.0.0, ::) also this
//   machine's interface addresses and host name. Anything else gets 421 Misdirected Request: a
//   DNS-rebinding page reaches the server under the attacker's domain name, so it stops here.
// - Origin: a request that can change state (every method but GET, HEAD, OPTIONS) must come from a
//   page of this server (its Origin passes the Host check) or from a client that is not a web page
//   (no Origin and no cross-site Sec-Fetch-Site, as curl and scripts send); else 403.
// - Token: when the server has one (bound beyond loopback, unless --no-token), every /api/ request
//   carries it: `Authorization: Bearer TOKEN`, a `?token=TOKEN` query, or the cookie set when a page
//   is opened with `?token=TOKEN` (answered with a redirect to the same address without it, so the
//   token leaves the address bar); else 401. The page itself (HTML, script, style) is public.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { HttpError } from './http.js';
import type { Guard } from './router.js';

export const LOOPBACK_NAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    name === 'localhost' ||
    name === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(name) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(name)
  );
}

/** An address as it appears in a URL's host: IPv6 in brackets, without a zone (%eth0). */
export function urlHostName(address: string): string {
  const name = address.toLowerCase().replace(/%.*$/, '');
  return name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
}

/** True for an address that binds every interface (0.0.0.0, ::). */
export function isWildcardHost(host: string): boolean {
  return WILDCARD_HOSTS.has(host);
}

/** This machine's IPv4 addresses on its networks (not loopback): where LAN clients reach a wildcard bind. */
export function networkAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((address) => !address.internal && address.family === 'IPv4')
    .map((address) => address.address);
}

/** A fresh random access token (192 bits, URL-safe). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The cookie holding a server's token; its port is in the name, since cookies ignore ports. */
export function tokenCookieName(port: number): string {
  return `mnist-lab-token-${port}`;
}

export interface AccessOptions {
  /** The address the server is bound to (the --host value). */
  bindHost: string;
  port: number;
  /** The API's access token; undefined: none needed. */
  token?: string;
  /** More names the server answers to (e.g. behind a reverse proxy or a local DNS name). */
  allowHosts?: readonly string[];
}

/** A Host header (or an origin's host) split into a lower-case name and a port (80 when absent). */
function parseHost(value: string): { name: string; port: number } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  const name = (match[1] as string).toLowerCase().replace(/\.$/, '');
  return { name, port: match[2] === undefined ? 80 : Number(match[2]) };
}

/** The names a wildcard bind is reached under from the network: interface addresses and host name. */
function machineNames(): string[] {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const host = hostname().toLowerCase();
  return [...addresses.map((a) => urlHostName(a.address)), host, `${host}.local`];
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function cookieValue(request: IncomingMessage, name: string): string | undefined {
  for (const part of (header(request, 'cookie') ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The Host, Origin and token checks as a router guard. */
export function accessGuard(options: AccessOptions): Guard {
  const names = new Set([
    ...LOOPBACK_NAMES,
    urlHostName(options.bindHost),
    ...(options.allowHosts ?? []).map(urlHostName),
    ...(isWildcardHost(options.bindHost) ? machineNames() : []),
  ]);
  const shown = isWildcardHost(options.bindHost) ? [] : [urlHostName(options.bindHost)];
  const expected = [...new Set([...LOOPBACK_NAMES, ...shown])]
    .map((name) => `${name}:${options.port}`)
    .join(', ');
  const isOwnHost = (value: string | undefined): boolean => {
    const host = value === undefined ? undefined : parseHost(value);
    return host !== undefined && host.port === options.port && names.has(host.name);
  };
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  const isToken = (candidate: string | undefined | null): boolean =>
    tokenDigest !== undefined && !!candidate && timingSafeEqual(digest(candidate), tokenDigest);
  const cookieName = tokenCookieName(options.port);

  return ({ request, response, url }) => {
    const host = header(request, 'host');
    if (!isOwnHost(host)) {
      throw new HttpError(
        421,
        `Host '${(host ?? '(none)').slice(0, 100)}' is not an address of this server (expected one of ${expected}); ` +
          `to serve under another name, start it with --allow-host NAME`,
      );
    }
    const method = request.method ?? 'GET';
    if (!SAFE_METHODS.has(method)) {
      const origin = header(request, 'origin');
      const site = header(request, 'sec-fetch-site');
      const fromOwnPage =
        origin === undefined
          ? site === undefined || site === 'same-origin' || site === 'none'
          : origin.startsWith('http://') && isOwnHost(origin.slice('http://'.length));
      if (!fromOwnPage) {
        throw new HttpError(
          403,
          `${method} ${url.pathname} from origin '${(origin ?? `(none, ${site})`).slice(0, 100)}' refused: ` +
            `only pages served by this server may change its state (open http://${host}/)`,
        );
      }
    }
    if (tokenDigest === undefined) return false;
    const queryToken = url.searchParams.get('token');
    const isApi = url.pathname.startsWith('/api/');
    if (!isApi && (method === 'GET' || method === 'HEAD') && isToken(queryToken)) {
      // A page opened from the printed address: keep the token in a cookie, drop it from the URL.
      url.searchParams.delete('token');
      response.writeHead(303, {
        location: url.pathname + url.search,
        'set-cookie': `${cookieName}=${options.token}; Path=/; HttpOnly; SameSite=Strict`,
        'cache-control': 'no-store',
        'content-length': 0,
      });
      response.end();
      return true;
    }
    if (!isApi) return false;
    const bearer = /^Bearer\s+(\S+)$/i.exec(header(request, 'authorization') ?? '')?.[1];
    if (isToken(bearer) || isToken(queryToken) || isToken(cookieValue(request, cookieName))) return false;
    throw new HttpError(
      401,
      `this server needs its access token: open the address 'mnist-lab serve' printed (it ends in /?token=...), ` +
        `or send 'Authorization: Bearer TOKEN'`,
      { 'www-authenticate': 'Bearer realm="mnist-lab"' },
    );
  };
}
