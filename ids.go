package backoffice

import (
	"time"

	"github.com/backoffice-go/backoffice/internal/ids"
)

// NewIDs returns a generator of ids that sort by creation time: UUIDv7
// (RFC 9562) read from the clock now (time.Now when nil), in order even
// within one millisecond. It is safe for concurrent use, and the default of
// every service's Config.NewID.
func NewIDs(now func() time.Time) func() string { return ids.New(now).NewID }
