// Shift schedules the built-in grids give their head-group models.

/**
 * Four blocks cannot cover 512 positions with power-of-two shifts (four hops
 * of 1, 2, 4, … reach at most 481 offsets whatever the head groups hold), so
 * 4-block head-group models use base-5 digits: layer l shifts its 4 head
 * groups by 1·5^l … 4·5^l, and every offset below 625 is a sum of at most
 * one shift per layer.
 */
export const BASE5_HEADS = [
  [1, 2, 3, 4],
  [5, 10, 15, 20],
  [25, 50, 75, 100],
  [125, 250, 375, 500],
];
