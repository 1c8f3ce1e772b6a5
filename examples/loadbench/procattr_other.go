//go:build !linux

package main

import "syscall"

// childProcAttr has nothing to add outside Linux.
func childProcAttr() *syscall.SysProcAttr {
	return nil
}
