// Package storetest is the conformance suite every storage adapter runs
// (D4, X6): the same behaviour tests against memory, PostgreSQL and Redis.
// An adapter's test is one call:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores { ... })
//	}
//
// The Races tests run two instances of the services over the stores, as two
// processes of a host would, and fire concurrent requests at every
// check-then-act (A20); concerns the adapter lacks come from one shared
// memory store.
//
// newStores must return fresh, empty stores (a new schema or key prefix)
// each time it is called. A nil field of Stores means the adapter does not
// implement that concern; its tests are not run.
package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/scadevice"
)

// Stores are the stores under test.
type Stores struct {
	Tenants   accessctl.TenantStore
	Operators accessctl.OperatorStore
	Roles     accessctl.RoleStore
	Audit     accessctl.AuditStore
	Sessions  accessctl.SessionStore
	Tokens    accessctl.TokenStore
	Attempts  accessctl.AttemptStore
	EndUsers  enduser.Store
	Devices   scadevice.Store
	Outbox    backoffice.OutboxStore
	Approvals accessctl.ApprovalStore
	Reviews   accessctl.ReviewStore
	Once      accessctl.OnceStore
	// Events keeps the event sinks' positions in the audit chain.
	Events events.Store
}

// Everything is implemented by an adapter that holds every store.
type Everything interface {
	accessctl.Store
	enduser.Store
	scadevice.Store
}

// FromStore fills every field from one adapter that implements them all,
// and the outbox when it has one.
func FromStore(s Everything) Stores {
	st := Stores{Tenants: s, Operators: s, Roles: s, Audit: s, Sessions: s, Tokens: s, Attempts: s, EndUsers: s, Devices: s, Approvals: s, Reviews: s, Once: s}
	if o, ok := s.(backoffice.OutboxStore); ok {
		st.Outbox = o
	}
	if e, ok := s.(events.Store); ok {
		st.Events = e
	}
	return st
}

// Run runs the whole suite.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	run(t, newStores, true)
}

// RunQueries runs the suite without its attack and hostile-input sweeps,
// which run the same queries as the rest many times over: for a store in
// another setup (a schema the host names, the schema of another release)
// where what matters is that every query works.
func RunQueries(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	run(t, newStores, false)
}

func run(t *testing.T, newStores func(t *testing.T) Stores, sweeps bool) {
	t.Helper()
	probe := newStores(t)
	if probe.Tenants != nil && probe.Operators != nil && probe.Audit != nil {
		t.Run("Tenants", func(t *testing.T) { t.Parallel(); testTenants(t, newStores) })
		t.Run("Operators", func(t *testing.T) { t.Parallel(); testOperators(t, newStores) })
		t.Run("Audit", func(t *testing.T) { t.Parallel(); testAudit(t, newStores) })
		t.Run("Chain", func(t *testing.T) { t.Parallel(); testChain(t, newStores) })
	}
	if probe.Roles != nil {
		t.Run("Roles", func(t *testing.T) { t.Parallel(); testRoles(t, newStores) })
	}
	if probe.Sessions != nil {
		t.Run("Sessions", func(t *testing.T) { t.Parallel(); testSessions(t, newStores) })
		t.Run("SessionPolicy", func(t *testing.T) { testSessionPolicy(t, newStores) })
	}
	if probe.Tenants != nil && probe.Operators != nil && probe.Audit != nil {
		t.Run("PolicyRecords", func(t *testing.T) { testPolicyRecords(t, newStores) })
	}
	if probe.Approvals != nil {
		t.Run("Approvals", func(t *testing.T) { testApprovals(t, newStores) })
	}
	if probe.Reviews != nil {
		t.Run("Reviews", func(t *testing.T) { testReviews(t, newStores) })
	}
	if probe.Tokens != nil {
		t.Run("Tokens", func(t *testing.T) { t.Parallel(); testTokens(t, newStores) })
	}
	if probe.Attempts != nil {
		t.Run("Attempts", func(t *testing.T) { t.Parallel(); testAttempts(t, newStores) })
	}
	if probe.Once != nil {
		t.Run("Once", func(t *testing.T) { t.Parallel(); testOnce(t, newStores) })
	}
	if probe.Outbox != nil && probe.Tenants != nil && probe.Operators != nil && probe.Audit != nil {
		t.Run("Outbox", func(t *testing.T) { t.Parallel(); testOutbox(t, newStores) })
	}
	if probe.Events != nil && probe.Tenants != nil && probe.Audit != nil {
		t.Run("Events", func(t *testing.T) { t.Parallel(); testEvents(t, newStores) })
	}
	if probe.Attempts != nil && probe.Sessions != nil && probe.Tokens != nil && probe.EndUsers != nil && probe.Devices != nil {
		t.Run("Isolation", func(t *testing.T) { t.Parallel(); testIsolation(t, newStores) })
		if sweeps {
			t.Run("HostileInput", func(t *testing.T) { t.Parallel(); testHostileInput(t, newStores) })
		}
	}
	if sweeps && probe.Attempts != nil && probe.Sessions != nil && probe.Tokens != nil {
		t.Run("Policy", func(t *testing.T) { t.Parallel(); testPolicy(t, newStores) })
		t.Run("FourEyes", func(t *testing.T) { t.Parallel(); testFourEyes(t, newStores) })
		t.Run("Races", func(t *testing.T) {
			t.Parallel()
			testRaces(t, newStores, probe.EndUsers != nil && probe.Devices != nil && probe.Tenants != nil)
		})
	}
	if probe.EndUsers != nil && probe.Audit != nil && probe.Tenants != nil {
		t.Run("EndUsers", func(t *testing.T) { t.Parallel(); testEndUsers(t, newStores) })
		t.Run("Onboardings", func(t *testing.T) { t.Parallel(); testOnboardings(t, newStores) })
	}
	if probe.Devices != nil && probe.EndUsers != nil && probe.Audit != nil && probe.Tenants != nil {
		t.Run("Devices", func(t *testing.T) { t.Parallel(); testDevices(t, newStores) })
	}
}

// base is a fixed instant at microsecond precision in UTC, the precision
// every store must keep.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// seq hands out ids that sort in the order they were made.
type seq struct{ n atomic.Int64 }

func (g *seq) next(prefix string) string {
	return fmt.Sprintf("%s-%08d", prefix, g.n.Add(1))
}

func ctx() context.Context { return context.Background() }

func cancelled() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}
