#include "nudge/dataset.h"

#include <gtest/gtest.h>

#include <thread>

#include "nudge/check.h"

namespace nudge {
namespace {

Dataset small() {
  DatasetBuilder b;
  auto& c = b.catalog();
  const uint32_t u0 = c.users.intern("alice"), u1 = c.users.intern("bob");
  const uint32_t i0 = c.items.intern("x"), i1 = c.items.intern("y"), i2 = c.items.intern("z");
  const EventType view = *c.event_types.find("view"), buy = *c.event_types.find("purchase");
  b.interactions().push_back(u0, i1, view, 1, 10);
  b.interactions().push_back(u0, i1, buy, 1, 20);
  b.interactions().push_back(u1, i0, view, 2, 30);
  b.interactions().push_back(u1, i2, view, 1, 40);
  return b.build();
}

TEST(DatasetTest, ViewsSumTypeWeightedValues) {
  const Dataset d = small();
  EXPECT_EQ(d.num_users(), 2u);
  EXPECT_EQ(d.num_items(), 3u);
  EXPECT_EQ(d.weight(1), 8.f);
  const CsrMatrix& ui = d.user_items();
  EXPECT_EQ(ui.at(0, 1), 9.f);  // view (1) + purchase (8)
  EXPECT_EQ(ui.at(1, 0), 2.f);
  EXPECT_EQ(d.item_users().at(2, 1), 1.f);
  EXPECT_EQ(d.item_users().row_nnz(1), 1u);
}

TEST(DatasetTest, ViewsBuiltOnceAndSharedAcrossThreadsAndCopies) {
  const Dataset d = small();
  const Dataset copy = d;
  const CsrMatrix* seen[4] = {};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back([&, t] { seen[t] = &(t % 2 ? copy : d).user_items(); });
  for (auto& t : ts) t.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
}

TEST(DatasetTest, WithInteractionsSharesTheCatalog) {
  const Dataset d = small();
  Interactions part;
  part.push_back(1, 2, 0, 1, 5);
  const Dataset p = d.with_interactions(part);
  EXPECT_EQ(&p.catalog(), &d.catalog());
  EXPECT_EQ(p.num_interactions(), 1u);
  EXPECT_EQ(p.user_items().at(1, 2), 1.f);
  Interactions bad;
  bad.push_back(7, 0, 0, 1, 0);
  EXPECT_THROW(d.with_interactions(bad), UsageError);
}

// users x items given as a matrix whose arrays belong to the caller: the dataset reads them in
// place and makes its item view and interaction log from them.
TEST(DatasetTest, FromUserItemsReadsTheLentArraysInPlace) {
  const Dataset logged = small();
  const CsrMatrix& expected = logged.user_items();
  const std::vector<uint32_t> lent_indices(expected.indices.begin(), expected.indices.end());
  const std::vector<float> lent_values(expected.values.begin(), expected.values.end());
  CsrMatrix m;
  m.num_rows = expected.num_rows;
  m.num_cols = expected.num_cols;
  m.indptr = expected.indptr;
  m.indices = BorrowedArray<uint32_t>::borrow(lent_indices);
  m.values = BorrowedArray<float>::borrow(lent_values);
  const EventType view = *logged.catalog().event_types.find("view");
  const Dataset d = Dataset::from_user_items(logged.catalog_ptr(), std::move(m), view);

  EXPECT_EQ(d.user_items().indices.data(), lent_indices.data());  // not copied
  EXPECT_EQ(d.user_items().values.data(), lent_values.data());
  EXPECT_EQ(d.num_interactions(), 3u);  // one per entry: (alice, y) 9, (bob, x) 2, (bob, z) 1
  EXPECT_EQ(d.item_users().indptr, logged.item_users().indptr);
  EXPECT_EQ(d.item_users().indices, logged.item_users().indices);
  EXPECT_EQ(d.item_users().values, logged.item_users().values);
  const Interactions& in = d.interactions();
  EXPECT_EQ(in.users, (std::vector<uint32_t>{0, 1, 1}));
  EXPECT_EQ(in.items, (std::vector<uint32_t>{1, 0, 2}));
  EXPECT_EQ(in.values, (std::vector<float>{9, 2, 1}));
  EXPECT_EQ(in.types, (std::vector<EventType>{view, view, view}));
  EXPECT_EQ(d.weight(0), 9.f);
  // A split of it is an ordinary dataset over the log.
  const Dataset part = d.with_interactions(in.select(std::vector<uint32_t>{2}));
  EXPECT_EQ(part.user_items().at(1, 2), 1.f);
  EXPECT_EQ(part.user_items().nnz(), 1u);

  // A copy of the matrix owns its arrays: the lender may go away after the dataset does.
  const CsrMatrix copy = d.user_items();
  EXPECT_FALSE(copy.indices.is_borrowed());
  EXPECT_NE(copy.indices.data(), lent_indices.data());
  EXPECT_EQ(copy.indices, lent_indices);
}

TEST(DatasetTest, FromUserItemsRefusesAnotherShapeOrAWeightedType) {
  const Dataset logged = small();
  const EventType view = *logged.catalog().event_types.find("view");
  const EventType buy = *logged.catalog().event_types.find("purchase");
  CsrMatrix wrong = logged.user_items();
  wrong.num_cols = 4;
  EXPECT_THROW(Dataset::from_user_items(logged.catalog_ptr(), wrong, view), UsageError);
  EXPECT_THROW(Dataset::from_user_items(logged.catalog_ptr(), logged.user_items(), buy), UsageError);  // weight 8
  EXPECT_NO_THROW(Dataset::from_user_items(logged.catalog_ptr(), logged.user_items(), view));
}

TEST(DatasetTest, BuilderCoversFeatureTablesForEveryEntity) {
  DatasetBuilder b;
  b.catalog().items.intern("a");
  b.catalog().items.intern("b");
  const Dataset d = b.build();
  EXPECT_EQ(d.catalog().item_features.num_entities(), 2u);
  EXPECT_EQ(d.num_interactions(), 0u);
  EXPECT_EQ(d.user_items().nnz(), 0u);
}

}  // namespace
}  // namespace nudge
