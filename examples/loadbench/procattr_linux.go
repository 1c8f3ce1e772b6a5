package main

import "syscall"

// childProcAttr makes the kernel kill Caddy should loadbench die without
// stopping it (SIGKILL, a crash).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
