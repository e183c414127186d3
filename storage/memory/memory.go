// Package memory implements every store of the module in memory. It is
// complete and safe for concurrent use: the embedded default for the
// examples and the store of choice in host applications' tests. Each change
// and its audit entry are made in one critical section, so they are atomic.
// Stores hand out copies, never their own records.
package memory

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// Store holds everything in memory. The zero value is not usable; call New.
type Store struct {
	mu        sync.RWMutex
	tenants   map[backoffice.TenantID]*accessctl.Tenant
	operators map[backoffice.TenantID]*operatorTable
	roles     map[backoffice.TenantID]map[accessctl.RoleName]*accessctl.Role
	audit     map[auditKey][]backoffice.AuditEntry
	chains    map[backoffice.TenantID]*chain
	approvals *docs[accessctl.Approval]
	reviews   *docs[accessctl.Review]
	outbox    []*backoffice.Message // in the order written
	streams   map[streamKey]*stream // events.Store

	endUsers    map[backoffice.TenantID]*userTable
	onboardings map[string]*enduser.Onboarding
	activations map[string]string
	devices     map[deviceKey]*scadevice.Device
	userDevices map[userKey][]scadevice.ID

	// The hot, short-lived records have locks of their own.
	sessMu   sync.Mutex
	sessions map[string]*accessctl.Session
	tokMu    sync.Mutex
	tokens   map[string]*accessctl.Token
	attMu    sync.Mutex
	attempts map[opKey]accessctl.Attempts
	once     map[onceKey]time.Time // UseOnce: until when each key is used
}

// chain is a tenant's audit entries in sequence order: entry i has
// Seq i+1.
type chain struct {
	head    backoffice.ChainHead
	entries []backoffice.AuditEntry
}

type auditKey struct {
	tenant backoffice.TenantID
	typ    string
	id     string
}

type opKey struct {
	tenant backoffice.TenantID
	id     accessctl.OperatorID
}

type operatorTable struct {
	byID       map[accessctl.OperatorID]*accessctl.Operator
	byUsername map[string]accessctl.OperatorID
	byEmail    map[string]accessctl.OperatorID
	byKey      map[string]accessctl.OperatorID
}

// New returns an empty store.
func New() *Store {
	return &Store{
		tenants:   map[backoffice.TenantID]*accessctl.Tenant{},
		operators: map[backoffice.TenantID]*operatorTable{},
		roles:     map[backoffice.TenantID]map[accessctl.RoleName]*accessctl.Role{},
		audit:     map[auditKey][]backoffice.AuditEntry{},
		chains:    map[backoffice.TenantID]*chain{},
		streams:   map[streamKey]*stream{},
		approvals: newApprovals(),
		reviews:   newReviews(),

		endUsers:    map[backoffice.TenantID]*userTable{},
		onboardings: map[string]*enduser.Onboarding{},
		activations: map[string]string{},
		devices:     map[deviceKey]*scadevice.Device{},
		userDevices: map[userKey][]scadevice.ID{},
		sessions:    map[string]*accessctl.Session{},
		tokens:      map[string]*accessctl.Token{},
		attempts:    map[opKey]accessctl.Attempts{},
	}
}

var _ accessctl.Store = (*Store)(nil)

func notFound(op, what string) error {
	return backoffice.NewError(backoffice.ErrNotFound, op, what+" not found")
}

func stale(op string) error {
	return backoffice.NewError(backoffice.ErrConflict, op, "the record changed since you read it; reload and retry")
}

func taken(op, field string) error {
	return backoffice.NewError(backoffice.ErrConflict, op, field+" is already taken in this tenant",
		backoffice.FieldViolation{Field: field, Reason: "already taken"})
}

// appendAudit stores an entry; the caller holds mu.
func (s *Store) appendAudit(e backoffice.AuditEntry) {
	for _, m := range e.Outbox {
		c := m
		c.Payload = slices.Clone(m.Payload)
		c.Status = backoffice.MessagePending
		s.outbox = append(s.outbox, &c)
	}
	e = e.Clone()
	e.Outbox = nil
	c := s.chains[e.Tenant]
	if c == nil {
		c = &chain{}
		s.chains[e.Tenant] = c
	}
	c.head = backoffice.ChainLink(c.head, &e)
	c.entries = append(c.entries, e)
	k := auditKey{e.Tenant, e.TargetType, e.TargetID}
	list := s.audit[k]
	i, _ := slices.BinarySearchFunc(list, e.ID, func(x backoffice.AuditEntry, id string) int { return strings.Compare(x.ID, id) })
	s.audit[k] = slices.Insert(list, i, e)
}
