package admission

import "net/netip"

// Source is where a request comes from, as the admission tells sources
// apart: an IPv4 address, or the /64 prefix of an IPv6 address (one
// subscriber or host usually holds a whole /64, so its addresses count as
// one source). The zero Source stands for every request whose address
// could not be read.
type Source struct {
	addr [16]byte
}

// SourceOf reads the source of a client address: an IP address, as
// Caddy's client IP, or a host:port, as http.Request.RemoteAddr.
func SourceOf(address string) Source {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		ipPort, err := netip.ParseAddrPort(address)
		if err != nil {
			return Source{}
		}
		ip = ipPort.Addr()
	}
	ip = ip.Unmap()
	s := Source{addr: ip.As16()}
	if ip.Is6() {
		clear(s.addr[8:])
	}
	return s
}
