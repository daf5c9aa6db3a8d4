// A webhook may reach only globally routable addresses (RFC 6890 and updates). IPv6 embedding IPv4 is judged
// by the IPv4 inside; IPv6 outside 2000::/3 is refused.

type V4Range = readonly [ReadonlyArray<number>, number]

export const ipv4Bytes = (host: string): ReadonlyArray<number> | undefined => {
  const parts = host.split(".")
  if (parts.length !== 4) return undefined
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN))
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined
}

export const ipv6Groups = (host: string): ReadonlyArray<number> | undefined => {
  let text = host.toLowerCase()
  if (!/^[0-9a-f:.]+$/.test(text) || !text.includes(":")) return undefined
  const tail = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)
  let tailGroups: Array<number> = []
  if (tail !== null) {
    const bytes = ipv4Bytes(tail[1]!)
    if (bytes === undefined) return undefined
    tailGroups = [bytes[0]! * 256 + bytes[1]!, bytes[2]! * 256 + bytes[3]!]
    text = text.slice(0, -tail[1]!.length) + "0:0"
  }
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const parse = (
    half: string
  ) => (half === "" ? [] : half.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN)))
  const head = parse(halves[0]!)
  const rest = halves.length === 2 ? parse(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest]
  if (groups.some(Number.isNaN)) return undefined
  if (tail !== null) groups.splice(6, 2, ...tailGroups)
  return groups
}

const inV4 = (b: ReadonlyArray<number>, [net, bits]: V4Range) => {
  const value = (bytes: ReadonlyArray<number>) =>
    ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
  return ((value(b) & mask) >>> 0) === ((value(net) & mask) >>> 0)
}

// CGNAT, link-local (the metadata address), documentation, benchmarking, multicast, reserved and the like.
const V4_NOT_PUBLIC: ReadonlyArray<V4Range> = [
  [[0, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10],
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 88, 99, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 4],
  [[240, 0, 0, 0], 4]
]

const v4IsPublic = (bytes: ReadonlyArray<number>) => !V4_NOT_PUBLIC.some((range) => inV4(bytes, range))

const v6IsPublic = (g: ReadonlyArray<number>): boolean => {
  const v4At = (
    i: number,
    flip = 0
  ) => [(g[i]! ^ flip) >> 8, (g[i]! ^ flip) & 255, (g[i + 1]! ^ flip) >> 8, (g[i + 1]! ^ flip) & 255]
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  // ::/96 (IPv4-compatible), ::ffff:0:0/96 (IPv4-mapped), ::ffff:0:0:0/96 (SIIT).
  if (zeros(0, 5) && (g[5] === 0 || g[5] === 0xffff)) return v4IsPublic(v4At(6))
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4IsPublic(v4At(6))
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4IsPublic(v4At(6)) // 64:ff9b::/96, NAT64
  if (g[0] === 0x2002) return v4IsPublic(v4At(1)) // 2002::/16, 6to4
  // 2001::/32, Teredo: server and client (inverted) addresses.
  if (g[0] === 0x2001 && g[1] === 0) return v4IsPublic(v4At(2)) && v4IsPublic(v4At(6, 0xffff))
  // Outside 2000::/3, local-use NAT64 (64:ff9b:1::/48) included.
  if ((g[0]! & 0xe000) !== 0x2000) return false
  if (g[0] === 0x2001 && g[1]! < 0x200) return false // 2001::/23, IETF protocol assignments (benchmarking, ORCHID…)
  if (g[0] === 0x2001 && g[1] === 0x0db8) return false // 2001:db8::/32, documentation
  return !(g[0] === 0x3fff && g[1]! < 0x1000) // 3fff::/20, documentation
}

const unbracketed = (host: string) => host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

/** Brackets allowed; undefined when `address` is not an IP literal. */
export const isPublicAddress = (address: string): boolean | undefined => {
  const bare = unbracketed(address)
  const v4 = ipv4Bytes(bare)
  if (v4 !== undefined) return v4IsPublic(v4)
  const v6 = ipv6Groups(bare.replace(/%.*$/, ""))
  return v6 === undefined ? undefined : v6IsPublic(v6)
}

export const isLoopbackHost = (host: string): boolean => {
  const bare = unbracketed(host)
  if (bare === "localhost") return true
  const v4 = ipv4Bytes(bare)
  if (v4 !== undefined) return v4[0] === 127
  const v6 = ipv6Groups(bare)
  if (v6 === undefined) return false
  if (v6.slice(0, 7).every((x) => x === 0) && v6[7] === 1) return true
  return v6.slice(0, 5).every((x) => x === 0) && v6[5] === 0xffff && v6[6]! >> 8 === 127
}
