/** The name of the head's Dense layer in every layers model the studio writes (a README names it too). */
export const HEAD_LAYER = 'similarity_head';
