package gateway

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Activated are listening sockets handed over by the service manager
// (systemd socket activation, sd_listen_fds(3)): the socket outlives
// every certgate process, so a restart or an upgrade never refuses a
// connection, and connections queued while one process exits are
// accepted by the next.
type Activated struct {
	// HTTPS is the socket named "https" (FileDescriptorName=https in the
	// .socket unit), or the first unnamed one.
	HTTPS net.Listener
	// Admin is the socket named "admin", if any.
	Admin net.Listener
}

// listenFDsStart is SD_LISTEN_FDS_START: passed sockets start at fd 3.
const listenFDsStart = 3

// SystemdListeners returns the sockets passed by systemd (LISTEN_PID,
// LISTEN_FDS, LISTEN_FDNAMES), or a zero Activated when none were passed
// to this process. The variables are removed from the environment so
// that no child process takes the sockets for its own.
func SystemdListeners() (Activated, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	if fds == "" {
		return Activated{}, nil
	}
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	// Sockets meant for another process (an inherited environment) are
	// not ours.
	if pid != strconv.Itoa(os.Getpid()) {
		return Activated{}, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 1 || n > 16 {
		return Activated{}, fmt.Errorf("socket activation: LISTEN_FDS=%q: want 1 to 16 sockets", fds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
	}
	var a Activated
	for i := range n {
		name := ""
		if i < len(nameList) {
			name = nameList[i]
		}
		f := os.NewFile(uintptr(listenFDsStart+i), "listen-fd-"+strconv.Itoa(listenFDsStart+i))
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own duplicate
		if err != nil {
			a.close()
			return Activated{}, fmt.Errorf("socket activation: fd %d (%q): not a listening TCP socket: %w", listenFDsStart+i, name, err)
		}
		switch {
		case name == "admin" && a.Admin == nil:
			a.Admin = ln
		case (name == "https" || name == "" || name == "unknown") && a.HTTPS == nil:
			a.HTTPS = ln
		default:
			ln.Close()
			a.close()
			return Activated{}, fmt.Errorf("socket activation: fd %d is named %q: name the sockets https and admin (FileDescriptorName=), one each", listenFDsStart+i, name)
		}
	}
	if a.HTTPS == nil {
		a.close()
		return Activated{}, fmt.Errorf("socket activation: no socket named https among %d passed", n)
	}
	return a, nil
}

func (a Activated) close() {
	if a.HTTPS != nil {
		a.HTTPS.Close()
	}
	if a.Admin != nil {
		a.Admin.Close()
	}
}
