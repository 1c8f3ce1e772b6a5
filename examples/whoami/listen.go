package main

import (
	"fmt"
	"net"
	"net/netip"
)

// listenLoopback listens on addr ("host:port"), whose host must be a loopback
// IP address such as 127.0.0.1 or [::1]. Anything else is refused: this server
// believes whatever identity headers it is sent, so only Caddy, in the same
// pod or on the same machine, may reach it. A host name (even "localhost") is
// refused too, since what it resolves to is not in this program's hands.
func listenLoopback(addr string) (net.Listener, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %v", addr, err)
	}
	return ln, nil
}

// checkLoopback reports an error unless addr is "host:port" with a loopback IP
// address as host.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid listen address '%s': %v", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing listen address '%s': not a loopback IP address; "+
			"this server trusts its identity headers and must be reachable only through Caddy "+
			"(use 127.0.0.1:<port> or [::1]:<port>)", addr)
	}
	return nil
}
