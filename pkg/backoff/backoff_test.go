package backoff

import (
	"context"
	"testing"
	"time"
)

func TestSleep_WaitsOrSaysThereIsNoTimeLeft(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a short wait with time to spare did not wait")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if Sleep(ctx, time.Second) || time.Since(start) > 40*time.Millisecond {
		t.Fatal("a wait past the deadline was made")
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if Sleep(done, time.Second) {
		t.Fatal("a wait on a canceled context reported success")
	}
}
