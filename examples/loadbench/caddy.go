package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Bounds of starting and stopping Caddy.
const (
	caddyStartTimeout = 30 * time.Second
	caddyStopTimeout  = 10 * time.Second
)

// caddyProcess is the Caddy child process. Only stop ends it.
type caddyProcess struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	logPath string
}

// startCaddy runs `<bin> run --config <caddyfile> --adapter caddyfile` with
// its output in dir/caddy.log and its config and data directories in dir.
func startCaddy(bin, caddyfile, dir string) (*caddyProcess, error) {
	logPath := filepath.Join(dir, "caddy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating Caddy's log file: %v", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", bin, err)
	}
	c := &caddyProcess{cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// pid is the process id of Caddy.
func (c *caddyProcess) pid() int {
	return c.cmd.Process.Pid
}

// running reports whether Caddy has not exited.
func (c *caddyProcess) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop asks Caddy to stop (SIGINT: graceful), and kills it when it has not
// exited within caddyStopTimeout. It only ever signals its own child.
func (c *caddyProcess) stop() {
	if !c.running() {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(caddyStopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// waitReady waits until every URL answers with its expected status.
func (c *caddyProcess) waitReady(ctx context.Context, expect map[string]int) error {
	ctx, cancel := context.WithTimeout(ctx, caddyStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for url, status := range expect {
		for {
			if !c.running() {
				return fmt.Errorf("caddy exited during start (%s)", c.cmd.ProcessState)
			}
			got, err := probe(ctx, client, url)
			if err == nil && got == status {
				break
			}
			if err == nil {
				return fmt.Errorf("GET %s answered %d, want %d", url, got, status)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("caddy did not answer %s within %s: %v", url, caddyStartTimeout, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// probe GETs url and returns the status.
func probe(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// memory reads Caddy's peak and current resident set size, in bytes, from
// /proc/<pid>/status (VmHWM, VmRSS); Linux only.
func (c *caddyProcess) memory() (peak, current int64, err error) {
	if !c.running() {
		return 0, 0, fmt.Errorf("caddy is not running")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid()))
	if err != nil {
		return 0, 0, fmt.Errorf("reading Caddy's memory use: %v", err)
	}
	return parseProcStatus(data)
}

// parseProcStatus reads VmHWM and VmRSS (kB) of a /proc/<pid>/status.
func parseProcStatus(data []byte) (peak, current int64, err error) {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		kB, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s: %v", name, err)
		}
		if name == "VmHWM" {
			peak = kB * 1024
		} else {
			current = kB * 1024
		}
	}
	if peak == 0 || current == 0 {
		return 0, 0, fmt.Errorf("no VmHWM and VmRSS in /proc status")
	}
	return peak, current, nil
}

// logTail returns the last n lines of Caddy's output.
func (c *caddyProcess) logTail(n int) string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct loopback TCP ports that are free right now.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
