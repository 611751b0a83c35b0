// The one user and mini program every bench section uses, so that the sections' figures are of the
// same payload.

export const BENCH_APP_ID = 'wx0123456789abcdef';
export const BENCH_OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
export const BENCH_UNIONID = 'oGZUI0egBJY1zhBYw2KhdUfwVJJE';

/** The visible part of `wx.getUserInfo`'s payload (what `rawData` holds): about 420 bytes in all. */
export const BENCH_PROFILE = Object.freeze({
  nickName: 'Band',
  gender: 1,
  language: 'zh_CN',
  city: 'Guangzhou',
  province: 'Guangdong',
  country: 'CN',
  avatarUrl:
    'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132',
});
