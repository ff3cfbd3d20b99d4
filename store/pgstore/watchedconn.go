package pgstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"
)

// watchedConn is a lib/pq connection whose calls close its socket when
// their context ends (see socket): a query the server or the network
// stalls returns when its context says, not when TCP gives up, and the
// connection is discarded. A call's watch lasts as long as the call's
// effect on the connection: a query's until its rows are closed, a
// transaction's until it commits or rolls back.
type watchedConn struct {
	driver.Conn // lib/pq's *conn
	sock        *socket
}

var (
	_ driver.ConnPrepareContext = (*watchedConn)(nil)
	_ driver.ConnBeginTx        = (*watchedConn)(nil)
	_ driver.QueryerContext     = (*watchedConn)(nil)
	_ driver.ExecerContext      = (*watchedConn)(nil)
	_ driver.Pinger             = (*watchedConn)(nil)
	_ driver.SessionResetter    = (*watchedConn)(nil)
	_ driver.Validator          = (*watchedConn)(nil)
	_ driver.NamedValueChecker  = (*watchedConn)(nil)
)

// watch closes the socket if ctx ends before the returned stop is called.
// The close runs in a goroutine of its own; when it has been started, stop
// marks the socket dead itself, so that the connection is never handed to
// another caller before the close lands on it.
func (c *watchedConn) watch(ctx context.Context) (stop func()) {
	after := context.AfterFunc(ctx, c.sock.kill)
	return func() {
		if !after() {
			c.sock.kill()
		}
	}
}

// PrepareContext implements driver.ConnPrepareContext.
func (c *watchedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	defer c.watch(ctx)()
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &watchedStmt{Stmt: st, conn: c}, nil
}

// BeginTx implements driver.ConnBeginTx; ctx is watched until the
// transaction ends, as database/sql and lib/pq bind a transaction to it.
func (c *watchedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	stop := c.watch(ctx)
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		stop()
		return nil, err
	}
	return &watchedTx{Tx: tx, stop: stop}, nil
}

// QueryContext implements driver.QueryerContext; ctx is watched until the
// rows are closed.
func (c *watchedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	stop := c.watch(ctx)
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil {
		stop()
		return nil, err
	}
	return &watchedRows{Rows: rows, stop: stop}, nil
}

// ExecContext implements driver.ExecerContext.
func (c *watchedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer c.watch(ctx)()
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

// Ping implements driver.Pinger.
func (c *watchedConn) Ping(ctx context.Context) error {
	defer c.watch(ctx)()
	return c.Conn.(driver.Pinger).Ping(ctx)
}

// ResetSession implements driver.SessionResetter: a connection whose
// socket a context closed is never handed out again.
func (c *watchedConn) ResetSession(ctx context.Context) error {
	if c.sock.dead() {
		return driver.ErrBadConn
	}
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// IsValid implements driver.Validator.
func (c *watchedConn) IsValid() bool {
	return !c.sock.dead() && c.Conn.(driver.Validator).IsValid()
}

// CheckNamedValue implements driver.NamedValueChecker as lib/pq does.
func (c *watchedConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// watchedTx is a transaction that stops its context's watch when it ends.
type watchedTx struct {
	driver.Tx
	stop func()
}

func (tx *watchedTx) Commit() error {
	defer tx.stop()
	return tx.Tx.Commit()
}

func (tx *watchedTx) Rollback() error {
	defer tx.stop()
	return tx.Tx.Rollback()
}

// watchedRows are a query's rows, whose context is watched until Close
// (lib/pq reads the rest of the result there).
type watchedRows struct {
	driver.Rows
	stop func()
}

func (r *watchedRows) Close() error {
	defer r.stop()
	return r.Rows.Close()
}

// The optional interfaces of lib/pq's rows, passed through.

func (r *watchedRows) HasNextResultSet() bool {
	return r.Rows.(driver.RowsNextResultSet).HasNextResultSet()
}

func (r *watchedRows) NextResultSet() error {
	return r.Rows.(driver.RowsNextResultSet).NextResultSet()
}

func (r *watchedRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}

func (r *watchedRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *watchedRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *watchedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}

// watchedStmt is a prepared statement of a watchedConn.
type watchedStmt struct {
	driver.Stmt
	conn *watchedConn
}

func (st *watchedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	defer st.conn.watch(ctx)()
	if ec, ok := st.Stmt.(driver.StmtExecContext); ok {
		return ec.ExecContext(ctx, args)
	}
	values, err := positional(args)
	if err != nil {
		return nil, err
	}
	return st.Stmt.Exec(values) //nolint:staticcheck // the statement has nothing newer
}

func (st *watchedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	stop := st.conn.watch(ctx)
	var rows driver.Rows
	var err error
	if qc, ok := st.Stmt.(driver.StmtQueryContext); ok {
		rows, err = qc.QueryContext(ctx, args)
	} else if values, perr := positional(args); perr != nil {
		err = perr
	} else {
		rows, err = st.Stmt.Query(values) //nolint:staticcheck // the statement has nothing newer
	}
	if err != nil {
		stop()
		return nil, err
	}
	return &watchedRows{Rows: rows, stop: stop}, nil
}

// CopyData passes lib/pq's COPY statement through; copyIn watches the
// whole COPY, whose end (Exec(nil)) takes no context.
func (st *watchedStmt) CopyData(ctx context.Context, line string) (driver.Result, error) {
	cp, ok := st.Stmt.(copyDataStmt)
	if !ok {
		return nil, fmt.Errorf("driver statement %T does not take COPY data", st.Stmt)
	}
	return cp.CopyData(ctx, line)
}

// positional converts arguments for a statement that predates contexts, as
// database/sql does; such statements take no named arguments.
func positional(args []driver.NamedValue) ([]driver.Value, error) {
	values := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, fmt.Errorf("driver statement does not take named argument %q", a.Name)
		}
		values[i] = a.Value
	}
	return values, nil
}
