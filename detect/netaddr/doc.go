// Package netaddr reads host names and IP addresses the way the most lenient
// resolver or URL parser would, so that a detector sees through the spellings
// attackers use to hide a cloud metadata address.
//
// Go's net/netip accepts one canonical spelling per address. The C library's
// inet_aton, browsers, curl, Python and friends accept many more: one to four
// dotted parts in decimal, octal or hex, overflowing values, trailing dots,
// full-width and enclosed digits, ideographic full stops, percent-encoding,
// IPv4 addresses wrapped in IPv6, and names of wildcard-DNS services that
// carry an address in the name. URL parsers also disagree about where the
// host of a URL is.
//
// The functions here are pure and never touch the network:
//
//	Hosts(url)        every host a URL-ish string may be read as
//	Canonical(host)   the address a host candidate denotes, if any
//	ParseAddr(s)      any textual spelling of an IP address
//	Unwrap(addr)      the IPv4 address inside IPv4-mapped, -compatible and NAT64 IPv6
//	WildcardDNS(name) the address carried by a nip.io, sslip.io, xip.io or 1u.ms name
//
// All of them bound their work: oversized input is truncated (Hosts) or
// refused (the others), and no input costs more than linear time.
package netaddr
