package memory_test

import (
	"testing"

	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

// D1, D4, X6: the in-memory store passes the conformance suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores { return storetest.FromStore(memory.New()) })
}
