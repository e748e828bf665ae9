package localproc

import (
	"os"
	"testing"
	"time"
)

func TestProcReadersSeeThisProcess(t *testing.T) {
	keep := make([]byte, 8<<20)
	for i := range keep {
		keep[i] = byte(i)
	}
	if kb := PeakRSS(os.Getpid()); kb < 8<<10 {
		t.Errorf("PeakRSS = %d KiB after touching 8 MiB", kb)
	}
	// Spin until the reading grows by 20 ms of CPU; a reader stuck at one
	// value (or at 0) never gets there.
	before, deadline := CPUTime(os.Getpid()), time.Now().Add(10*time.Second)
	for CPUTime(os.Getpid()) < before+20*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("CPUTime stayed near %s through 10 s of spinning", before)
		}
	}
	if PeakRSS(0) != 0 || CPUTime(0) != 0 {
		t.Error("pid 0 should read as unknown")
	}
	_ = keep[len(keep)-1]
}
