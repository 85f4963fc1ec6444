package models

import (
	"context"
	"crypto/rand"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// backfillBatch is how many accounts one transaction of backfillUsers takes.
const backfillBatch = 500

// backfillUsers gives every WeChat account stored before users existed
// (user_id empty) a user and an identity, so that an upgraded app keeps
// recognising the people who logged in before: with registration closed
// they would otherwise be refused. An account whose unionid another
// identity has joins that identity's user. Replicas starting together are
// safe: the identity's unique key decides who attaches it.
func backfillUsers(ctx context.Context, db *gorm.DB) error {
	for {
		var accounts []WechatPublicAuthModel
		n := 0
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Where("user_id = ''").Order("id").Limit(backfillBatch).Find(&accounts).Error; err != nil {
				return err
			}
			n = len(accounts)
			for _, a := range accounts {
				if err := backfillOne(tx, a); err != nil {
					return fmt.Errorf("account %d: %w", a.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("models: giving stored WeChat accounts users: %w", err)
		}
		if n < backfillBatch {
			return nil
		}
	}
}

func backfillOne(tx *gorm.DB, a WechatPublicAuthModel) error {
	userID := ""
	var owners []Identity
	q := tx.Where("app_id = ? AND open_id = ?", a.AppID, a.OpenID)
	if a.UnionID != "" {
		q = q.Or("union_id = ?", a.UnionID)
	}
	if err := q.Order("id").Limit(1).Find(&owners).Error; err != nil {
		return err
	}
	if len(owners) == 1 {
		userID = owners[0].UserID
	} else {
		userID = rand.Text()
		u := User{ID: userID, Nickname: a.Nickname, AvatarURL: a.HeadImgURL, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
	}
	id := Identity{UserID: userID, LoginType: a.LoginType, AppID: a.AppID, OpenID: a.OpenID, UnionID: a.UnionID,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&id).Error; err != nil {
		return err
	}
	return tx.Model(&WechatPublicAuthModel{}).Where("id = ?", a.ID).Update("user_id", userID).Error
}
