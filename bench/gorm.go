package main

import (
	"context"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gormstore"
)

// gormTargets are the stores on GORM, on PostgreSQL or MariaDB: sqlsession
// through its gormstore backend, and wader/gormstore.
func gormTargets(driver string) []target {
	return []target{
		{"sqlsession gormstore", roleCore, openGormCore(driver)},
		{"wader/gormstore (gorilla)", rolePeer, openWader(driver)},
	}
}

func openGormCore(driver string) func(context.Context, *env) (*instance, error) {
	return func(ctx context.Context, e *env) (*instance, error) {
		dialect, _ := dialectOf(driver)
		g, db, err := gormDB(ctx, e, driver)
		if err != nil {
			return nil, err
		}
		s, err := gormstore.New(g, sqlsession.Options{})
		if err != nil {
			return nil, err
		}
		if err := s.CreateTable(ctx); err != nil {
			return nil, err
		}
		return &instance{impl: coreImpl{s}, seed: settled(coreSeed(sqlExec(db), dialect, true), sqlExec(db), dialect), close: func() { s.Close() }}, nil
	}
}
