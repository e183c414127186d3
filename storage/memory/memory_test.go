package memory_test

import (
	"testing"

	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/storetest"
)

// D1, D4, X6: the in-memory store passes the conformance suite, whose
// Policy tests show P1 to P5 (P2 lockout, P3 password length and
// history, P4 MFA and password age), T1, T2 and V1 on it, its Races
// F1 to F3, its Chain H1 and H2.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores { return storetest.FromStore(memory.New()) })
}
