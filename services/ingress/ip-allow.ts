import ipaddr from "ipaddr.js";

export type IpMatcher = (ip: string | undefined) => boolean;

/** Builds a matcher for addresses and CIDRs; an empty list allows everyone. */
export function compileAllowList(entries: readonly string[]): IpMatcher {
  if (entries.length === 0) return () => true;
  const ranges = entries.map((entry) => {
    const parsed = entry.includes("/")
      ? ipaddr.parseCIDR(entry)
      : ([ipaddr.parse(entry), entry.includes(":") ? 128 : 32] as const);
    return parsed;
  });
  return (ip) => {
    if (!ip || !ipaddr.isValid(ip)) return false;
    let addr = ipaddr.parse(ip);
    // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
    if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress())
      addr = (addr as ipaddr.IPv6).toIPv4Address();
    return ranges.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits));
  };
}

/**
 * The sender's address. Behind a load balancer the peer is the proxy: when the peer is a
 * trusted proxy, walk X-Forwarded-For from the right and take the first address that is
 * not one of ours (entries further left could be forged by the sender).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | null,
  isTrustedProxy: IpMatcher,
): string | undefined {
  if (!peer || !forwardedFor || !isTrustedProxy(peer)) return peer;
  const hops = forwardedFor
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!isTrustedProxy(hops[i])) return hops[i];
  return hops[0] ?? peer;
}
