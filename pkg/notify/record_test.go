package notify_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/jampay/jampay/pkg/notify"
)

// record builds a stream record as Lambda delivers it, with outboxes
// given as dynamostore writes them ("" for an image without one, "-" for
// no image at all).
func record(t *testing.T, pk, oldOutbox, newOutbox string) events.DynamoDBEventRecord {
	t.Helper()
	image := func(outbox string) string {
		if outbox == "" {
			return `{"pk":{"S":"` + pk + `"}}`
		}
		return `{"pk":{"S":"` + pk + `"},"outbox":{"L":[` + outbox + `]}}`
	}
	change := `"Keys":{"pk":{"S":"` + pk + `"}},"SequenceNumber":"100"`
	if oldOutbox != "-" {
		change += `,"OldImage":` + image(oldOutbox)
	}
	if newOutbox != "-" {
		change += `,"NewImage":` + image(newOutbox)
	}
	var r events.DynamoDBEventRecord
	if err := json.Unmarshal([]byte(`{"eventName":"MODIFY","dynamodb":{`+change+`}}`), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func entry(v int, state string, until time.Time) string {
	s := fmt.Sprintf(`{"M":{"v":{"N":"%d"},"t":{"S":"order.paid"},"s":{"S":"%s"},"n":{"N":"0"}`, v, state)
	if !until.IsZero() {
		s += `,"until":{"S":"` + until.Format(time.RFC3339Nano) + `"}`
	}
	return s + "}}"
}

func TestOwesNew(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	later, earlier := at.Add(time.Minute), at.Add(-time.Second)
	for _, tc := range []struct {
		name           string
		pk             string
		oldOut, newOut string
		want           bool
	}{
		{"the write that owed it", "order#ord_1", "", entry(1, "owed", time.Time{}), true},
		{"a new order owing at once", "order#ord_1", "-", entry(1, "owed", time.Time{}), true},
		{"a later write owing a second effect", "order#ord_1", entry(1, "sent", time.Time{}), entry(1, "sent", time.Time{}) + "," + entry(2, "owed", time.Time{}), true},
		{"a dispatcher's claim", "order#ord_1", entry(1, "owed", time.Time{}), entry(1, "claimed", later), false},
		{"a dispatcher's mark", "order#ord_1", entry(1, "claimed", later), entry(1, "sent", time.Time{}), false},
		{"a failed send owed again", "order#ord_1", entry(1, "claimed", later), entry(1, "owed", time.Time{}), true},
		{"a claim whose holder died", "order#ord_1", entry(1, "owed", time.Time{}), entry(1, "claimed", earlier), true},
		{"a write that left the owed effect alone", "order#ord_1", entry(1, "owed", time.Time{}), entry(1, "owed", time.Time{}), false},
		{"parked for the owner", "order#ord_1", entry(1, "claimed", later), entry(1, "failed", time.Time{}), false},
		{"an order's deletion", "order#ord_1", entry(1, "owed", time.Time{}), "-", false},
		{"no outbox", "order#ord_1", "", "", false},
		{"not an order", "event#stripe#evt_1", "", entry(1, "owed", time.Time{}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, got := notify.OwesNew(record(t, tc.pk, tc.oldOut, tc.newOut), at)
			if got != tc.want || got && id != "ord_1" {
				t.Errorf("OwesNew = %q, %v; want %v", id, got, tc.want)
			}
		})
	}
}

// A malformed outbox (another attribute type where a list or map is
// expected) reads as owing nothing, never as a panic in aws-lambda-go's
// typed accessors.
func TestOutbox_MalformedReadsAsNothing(t *testing.T) {
	for _, img := range []string{
		`{"outbox":{"S":"x"}}`,
		`{"outbox":{"L":[{"S":"x"},{"M":{"v":{"S":"1"},"s":{"N":"1"},"until":{"N":"1"}}}]}}`,
		`{"outbox":{"NULL":true}}`,
	} {
		var m map[string]events.DynamoDBAttributeValue
		if err := json.Unmarshal([]byte(img), &m); err != nil {
			t.Fatal(err)
		}
		for _, e := range notify.Outbox(m) {
			if e.State != "" || e.Version != "" {
				t.Errorf("%s read as %+v", img, e)
			}
		}
	}
}
