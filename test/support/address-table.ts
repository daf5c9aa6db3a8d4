/**
 * Where a webhook may go, as data, for test/webhooks/url-rules.test.ts (Node) and test/workers/url-rules-on-workers
 * .test.ts (workerd) alike: every form the security audit tried, and one address of every entry of the IANA
 * special-purpose registries (RFC 6890 and its updates, IPv4 and IPv6), with whether it is public.
 */

/** [address, public?, what it is]. */
export type AddressCase = readonly [address: string, isPublic: boolean, what: string]

export const IPV4_REGISTRY: ReadonlyArray<AddressCase> = [
  ["0.0.0.0", false, "0.0.0.0/32, this host"],
  ["0.1.2.3", false, "0.0.0.0/8, this network"],
  ["10.0.0.1", false, "10.0.0.0/8, private"],
  ["100.64.0.1", false, "100.64.0.0/10, shared (CGNAT)"],
  ["100.100.100.200", false, "100.64.0.0/10, a cloud's metadata address"],
  ["127.0.0.1", false, "127.0.0.0/8, loopback"],
  ["127.255.255.254", false, "127.0.0.0/8, loopback"],
  ["169.254.169.254", false, "169.254.0.0/16, link-local, the metadata address"],
  ["172.16.0.1", false, "172.16.0.0/12, private"],
  ["172.31.255.255", false, "172.16.0.0/12, private"],
  ["192.0.0.1", false, "192.0.0.0/24, IETF protocol assignments (192.0.0.0/29, DS-Lite)"],
  ["192.0.0.8", false, "192.0.0.8/32, IPv4 dummy address"],
  ["192.0.0.9", false, "192.0.0.9/32, PCP anycast: registry-global, refused with its /24 (no receiver)"],
  ["192.0.0.10", false, "192.0.0.10/32, TURN anycast: registry-global, refused with its /24 (no receiver)"],
  ["192.0.0.170", false, "192.0.0.170/32, NAT64/DNS64 discovery"],
  ["192.0.2.1", false, "192.0.2.0/24, documentation (TEST-NET-1)"],
  ["192.31.196.1", true, "192.31.196.0/24, AS112-v4 (globally reachable)"],
  ["192.52.193.1", true, "192.52.193.0/24, AMT (globally reachable)"],
  ["192.88.99.1", false, "192.88.99.0/24, deprecated 6to4 relay anycast"],
  ["192.168.0.1", false, "192.168.0.0/16, private"],
  ["192.175.48.1", true, "192.175.48.0/24, direct delegation AS112 (globally reachable)"],
  ["198.18.0.1", false, "198.18.0.0/15, benchmarking"],
  ["198.19.255.255", false, "198.18.0.0/15, benchmarking"],
  ["198.51.100.1", false, "198.51.100.0/24, documentation (TEST-NET-2)"],
  ["203.0.113.1", false, "203.0.113.0/24, documentation (TEST-NET-3)"],
  ["224.0.0.1", false, "224.0.0.0/4, multicast"],
  ["240.0.0.1", false, "240.0.0.0/4, reserved"],
  ["255.255.255.255", false, "255.255.255.255/32, limited broadcast"],
  ["8.8.8.8", true, "public"],
  ["1.1.1.1", true, "public"],
  ["172.32.0.1", true, "just past 172.16.0.0/12"],
  ["100.128.0.1", true, "just past 100.64.0.0/10"],
  ["198.20.0.1", true, "just past 198.18.0.0/15"]
]

export const IPV6_REGISTRY: ReadonlyArray<AddressCase> = [
  ["::", false, "::/128, unspecified"],
  ["::1", false, "::1/128, loopback"],
  ["[::1]", false, "::1/128, bracketed"],
  ["::ffff:127.0.0.1", false, "::ffff:0:0/96, IPv4-mapped loopback"],
  ["::ffff:7f00:1", false, "::ffff:0:0/96, IPv4-mapped loopback in hex"],
  ["::ffff:10.0.0.1", false, "::ffff:0:0/96, IPv4-mapped private"],
  ["::ffff:8.8.8.8", true, "::ffff:0:0/96, IPv4-mapped public"],
  ["::127.0.0.1", false, "::/96, deprecated IPv4-compatible loopback"],
  ["::8.8.8.8", true, "::/96, deprecated IPv4-compatible public"],
  ["::ffff:0:7f00:1", false, "::ffff:0:0:0/96, SIIT (RFC 2765) loopback"],
  ["::ffff:0:a9fe:a9fe", false, "::ffff:0:0:0/96, SIIT metadata address"],
  ["::ffff:0:808:808", true, "::ffff:0:0:0/96, SIIT public"],
  ["64:ff9b::a00:1", false, "64:ff9b::/96, NAT64 of 10.0.0.1"],
  ["64:ff9b::a9fe:a9fe", false, "64:ff9b::/96, NAT64 of the metadata address"],
  ["64:ff9b::808:808", true, "64:ff9b::/96, NAT64 of 8.8.8.8 (globally reachable)"],
  ["64:ff9b:1::a9fe:a9fe", false, "64:ff9b:1::/48, local-use NAT64 (RFC 8215) of the metadata address"],
  ["64:ff9b:1::808:808", false, "64:ff9b:1::/48, local-use NAT64: not globally reachable, refused whole"],
  ["100::1", false, "100::/64, discard-only"],
  ["2001:0:a00:1::", false, "2001::/32, Teredo with a private server"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", false, "2001::/32, Teredo to client 127.0.0.1"],
  ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", true, "2001::/32, Teredo, public server and client 8.8.8.8"],
  ["2001:1::1", false, "2001:1::1/128, PCP anycast: refused with 2001::/23 (no receiver)"],
  ["2001:2::1", false, "2001:2::/48, benchmarking"],
  ["2001:3::1", false, "2001:3::/32, AMT: refused with 2001::/23"],
  ["2001:4:112::1", false, "2001:4:112::/48, AS112-v6: refused with 2001::/23"],
  ["2001:10::1", false, "2001:10::/28, deprecated ORCHID"],
  ["2001:20::1", false, "2001:20::/28, ORCHIDv2: refused with 2001::/23"],
  ["2001:db8::1", false, "2001:db8::/32, documentation"],
  ["2002:7f00:1::", false, "2002::/16, 6to4 of 127.0.0.1"],
  ["2002:a9fe:a9fe::1", false, "2002::/16, 6to4 of the metadata address"],
  ["2002:808:808::", true, "2002::/16, 6to4 of 8.8.8.8"],
  ["2620:4f:8000::1", true, "2620:4f:8000::/48, direct delegation AS112 (globally reachable)"],
  ["3fff::1", false, "3fff::/20, documentation"],
  ["5f00::1", false, "5f00::/16, SRv6 SIDs"],
  ["fc00::1", false, "fc00::/7, unique-local"],
  ["fd00:ec2::254", false, "fc00::/7, the AWS metadata address"],
  ["fe80::1", false, "fe80::/10, link-local"],
  ["fe80::1%eth0", false, "fe80::/10, link-local with a zone"],
  ["fec0::1", false, "fec0::/10, deprecated site-local"],
  ["ff02::1", false, "ff00::/8, multicast"],
  ["4000::1", false, "outside 2000::/3, unallocated"],
  ["2606:4700:4700::1111", true, "public"],
  ["2a00:1450:4001::1", true, "public"]
]

/** [url, refusal or "accepted"], outside local development. */
export type UrlCase = readonly [url: string, expected: string]

export const PRODUCTION_URLS: ReadonlyArray<UrlCase> = [
  // What the audit tried.
  ["https://vm./", "local-name"],
  ["https://vm../", "local-name"],
  ["https://VM./", "local-name"],
  ["https://vm\u3002/", "local-name"],
  ["https://[::ffff:0:7f00:1]/", "private-address"],
  ["https://[64:ff9b:1::a9fe:a9fe]/", "private-address"],
  ["https://[fec0::1]/", "private-address"],
  // Other spellings of this machine and private networks.
  ["https://127.0.0.1./", "private-address"],
  ["https://0x7f000001/", "private-address"],
  ["https://2130706433/", "private-address"],
  ["https://0177.0.0.1/", "private-address"],
  ["https://[::ffff:127.0.0.1]/", "private-address"],
  ["https://[::ffff:a9fe:a9fe]/", "private-address"],
  ["https://[64:ff9b::a9fe:a9fe]/", "private-address"],
  ["https://[2002:a9fe:a9fe::]/", "private-address"],
  ["https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "private-address"],
  ["https://LOCALHOST./", "local-name"],
  ["https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/", "local-name"],
  ["https://api.localhost/", "local-name"],
  ["https://printer/", "local-name"],
  ["https://metadata/", "local-name"],
  ["https://metadata.google.internal./", "local-name"],
  ["https://nas.local/", "local-name"],
  ["https://router.home.arpa/", "local-name"],
  ["https://kubernetes.default.svc/", "local-name"],
  ["https://hooks.test/", "local-name"],
  ["https://a..b/", "not-a-url"],
  // Public.
  ["https://hooks.example.com./", "accepted"],
  ["https://Hooks.Example.COM/x", "accepted"],
  ["https://b\u00fccher.example/", "local-name"],
  ["https://b\u00fccher.de/", "accepted"],
  ["https://8.8.8.8/", "accepted"],
  ["https://[2606:4700:4700::1111]/", "accepted"],
  ["https://[::ffff:0:808:808]/", "accepted"]
]
