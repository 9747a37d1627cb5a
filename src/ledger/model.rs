//! Accounts, entry kinds and the postings each event makes. Amounts are integer đồng; a line's
//! amount is a debit when positive and a credit when negative, so an entry's lines sum to zero.

use crate::db::text::text_enum;
use crate::ids::{CheckoutId, HouseholdId, OrderId, PayoutId};
use crate::stats::MoneyBooked;

text_enum! {
    /// What an entry records.
    pub enum EntryKind {
        /// A bank transfer paid a checkout exactly.
        PaymentReceived = "payment_received",
        /// Money arrived that pays no checkout as it stands (short, over, unknown or late).
        UnmatchedReceipt = "unmatched_receipt",
        /// The carrier collected a cash-on-delivery order's price.
        CashOnDelivery = "cash_on_delivery",
        /// A paid order was delivered: its household's share, the commission and the shipping.
        SharePayable = "share_payable",
        /// A paid order was cancelled: the buyer is owed its price back.
        RefundOwed = "refund_owed",
        /// A household's balance was paid out to its bank account.
        Payout = "payout",
    }
}

/// An account of the books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// Money the platform holds (its bank account and what carriers collected for it).
    Bank,
    /// Buyers' money received for orders not yet delivered.
    BuyerPrepayments,
    /// Shipping fees owed to the carrier.
    ShippingPayable,
    /// The platform's commission, earned.
    Commission,
    /// Money owed back to buyers of cancelled paid orders.
    RefundsPayable,
    /// Money received that matched no checkout, for an admin to sort out.
    UnmatchedReceipts,
    /// What the platform owes one household (a credit balance).
    Household(HouseholdId),
}

/// The prefix of household accounts' keys.
pub const HOUSEHOLD_ACCOUNT_PREFIX: &str = "household:";

impl Account {
    /// How the account is stored.
    pub fn key(&self) -> String {
        match self {
            Account::Bank => "bank".to_owned(),
            Account::BuyerPrepayments => "buyer_prepayments".to_owned(),
            Account::ShippingPayable => "shipping_payable".to_owned(),
            Account::Commission => "commission".to_owned(),
            Account::RefundsPayable => "refunds_payable".to_owned(),
            Account::UnmatchedReceipts => "unmatched_receipts".to_owned(),
            Account::Household(id) => format!("{HOUSEHOLD_ACCOUNT_PREFIX}{id}"),
        }
    }
}

/// What an entry is about.
#[derive(Debug, Clone, Default)]
pub struct EntryRefs {
    pub checkout_id: Option<CheckoutId>,
    pub order_id: Option<OrderId>,
    pub household_id: Option<HouseholdId>,
    pub payout_id: Option<PayoutId>,
    pub transaction_id: Option<String>,
}

/// One entry to book: its kind, what it is about and its lines (debits positive).
#[derive(Debug, Clone)]
pub struct Posting {
    pub kind: EntryKind,
    pub refs: EntryRefs,
    pub lines: Vec<(Account, i64)>,
}

/// A delivered order's money: what its buyer paid for goods and shipping.
#[derive(Debug, Clone, Copy)]
pub struct OrderMoney {
    pub order_id: OrderId,
    pub checkout_id: Option<CheckoutId>,
    pub household_id: HouseholdId,
    pub goods_vnd: i64,
    pub shipping_vnd: i64,
}

impl OrderMoney {
    fn price(&self) -> i64 {
        self.goods_vnd.saturating_add(self.shipping_vnd)
    }

    fn refs(&self) -> EntryRefs {
        EntryRefs {
            checkout_id: self.checkout_id,
            order_id: Some(self.order_id),
            household_id: Some(self.household_id),
            ..EntryRefs::default()
        }
    }
}

/// The platform's commission on `goods_vnd` at `basis_points` (hundredths of a percent), rounded
/// down: the household keeps the fraction of a đồng.
pub fn commission(goods_vnd: i64, basis_points: i64) -> i64 {
    let exact = i128::from(goods_vnd) * i128::from(basis_points) / 10_000;
    i64::try_from(exact)
        .unwrap_or(goods_vnd)
        .clamp(0, goods_vnd)
}

impl Posting {
    /// Whether the lines sum to zero (and there are some).
    pub fn is_balanced(&self) -> bool {
        !self.lines.is_empty()
            && self
                .lines
                .iter()
                .map(|(_, amount)| i128::from(*amount))
                .sum::<i128>()
                == 0
    }

    /// A bank transfer that paid checkout `checkout_id` exactly.
    pub fn payment_received(checkout_id: CheckoutId, transaction_id: &str, amount: i64) -> Self {
        Posting {
            kind: EntryKind::PaymentReceived,
            refs: EntryRefs {
                checkout_id: Some(checkout_id),
                transaction_id: Some(transaction_id.to_owned()),
                ..EntryRefs::default()
            },
            lines: vec![
                (Account::Bank, amount),
                (Account::BuyerPrepayments, -amount),
            ],
        }
    }

    /// Money that arrived but pays nothing as it stands (held for an admin).
    pub fn unmatched_receipt(
        checkout_id: Option<CheckoutId>,
        transaction_id: &str,
        amount: i64,
    ) -> Self {
        Posting {
            kind: EntryKind::UnmatchedReceipt,
            refs: EntryRefs {
                checkout_id,
                transaction_id: Some(transaction_id.to_owned()),
                ..EntryRefs::default()
            },
            lines: vec![
                (Account::Bank, amount),
                (Account::UnmatchedReceipts, -amount),
            ],
        }
    }

    /// The carrier collected a cash-on-delivery order's price from its buyer.
    pub fn cash_on_delivery(order: &OrderMoney) -> Self {
        Posting {
            kind: EntryKind::CashOnDelivery,
            refs: order.refs(),
            lines: vec![
                (Account::Bank, order.price()),
                (Account::BuyerPrepayments, -order.price()),
            ],
        }
    }

    /// A paid order was delivered: the carrier is owed the shipping, the platform earns its
    /// commission and the household is owed the rest of the goods' value.
    pub fn share_payable(order: &OrderMoney, commission_basis_points: i64) -> Self {
        let commission = commission(order.goods_vnd, commission_basis_points);
        Posting {
            kind: EntryKind::SharePayable,
            refs: order.refs(),
            lines: vec![
                (Account::BuyerPrepayments, order.price()),
                (Account::ShippingPayable, -order.shipping_vnd),
                (Account::Commission, -commission),
                (
                    Account::Household(order.household_id),
                    -(order.goods_vnd - commission),
                ),
            ],
        }
    }

    /// A paid order was cancelled before delivery: its buyer is owed its price.
    pub fn refund_owed(order: &OrderMoney) -> Self {
        Posting {
            kind: EntryKind::RefundOwed,
            refs: order.refs(),
            lines: vec![
                (Account::BuyerPrepayments, order.price()),
                (Account::RefundsPayable, -order.price()),
            ],
        }
    }

    /// A household's balance paid to its bank account.
    pub fn payout(payout_id: PayoutId, household_id: HouseholdId, amount: i64) -> Self {
        Posting {
            kind: EntryKind::Payout,
            refs: EntryRefs {
                household_id: Some(household_id),
                payout_id: Some(payout_id),
                ..EntryRefs::default()
            },
            lines: vec![
                (Account::Household(household_id), amount),
                (Account::Bank, -amount),
            ],
        }
    }
}

impl Posting {
    /// What the statistics count of this entry: the commission it earns or the payout it makes,
    /// for its household.
    pub fn money_booked(&self, booked_at: chrono::NaiveDateTime) -> Option<MoneyBooked> {
        let household_id = self.refs.household_id?;
        let amount_on = |wanted: Account| -> i64 {
            self.lines
                .iter()
                .filter(|(account, _)| *account == wanted)
                .map(|(_, amount)| *amount)
                .sum()
        };
        let event = MoneyBooked {
            household_id: household_id.to_db(),
            booked_at,
            // Commission is credited (negative); a payout debits the household's account.
            commission_vnd: -amount_on(Account::Commission),
            payout_vnd: match self.kind {
                EntryKind::Payout => amount_on(Account::Household(household_id)),
                _ => 0,
            },
        };
        (event.commission_vnd != 0 || event.payout_vnd != 0).then_some(event)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn order(goods: i64, shipping: i64) -> OrderMoney {
        OrderMoney {
            order_id: OrderId::generate(),
            checkout_id: None,
            household_id: HouseholdId::generate(),
            goods_vnd: goods,
            shipping_vnd: shipping,
        }
    }

    proptest! {
        #[test]
        fn every_posting_balances(goods in 0i64..1_000_000_000_000_000, shipping in 0i64..1_000_000_000, bp in 0i64..=10_000) {
            let order = order(goods, shipping);
            prop_assert!(Posting::share_payable(&order, bp).is_balanced());
            prop_assert!(Posting::cash_on_delivery(&order).is_balanced());
            prop_assert!(Posting::refund_owed(&order).is_balanced());
            let c = commission(goods, bp);
            prop_assert!(c >= 0 && c <= goods);
            prop_assert!(i128::from(c) * 10_000 <= i128::from(goods) * i128::from(bp));
        }
    }

    #[test]
    fn commission_rounds_down_in_the_households_favour() {
        assert_eq!(commission(100_000, 500), 5_000);
        assert_eq!(commission(19, 500), 0);
        assert_eq!(commission(39, 500), 1);
        assert_eq!(commission(12_345, 250), 308);
    }
}
