// Package localproc is what the test harnesses for real local services
// (DynamoDB Local, stripe-mock) share: a free loopback port, waiting until a
// server answers, and finding an installed file in this directory or above.
package localproc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// FreePort returns a loopback TCP port nothing listens on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitHTTP waits until url answers any HTTP response.
func WaitHTTP(url string, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("nothing answered at %s within %s", url, timeout)
}

// FindUp returns the last match of glob (relative to a directory) in the
// working directory or the nearest directory above it that has one.
func FindUp(glob string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, glob)); len(m) > 0 {
			return m[len(m)-1], true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
