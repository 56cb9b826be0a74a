/** URLs of the files API, shared by the server's routes and the links it hands out. */
export const uploadApiPath = (id: string) => `/api/uploads/${id}`;
export const uploadEventsPath = (id: string) => `${uploadApiPath(id)}/events`;
export const thumbnailPath = (id: string, size: number) => `${uploadApiPath(id)}/thumbnails/${size}`;
export const contentPath = (id: string) => `${uploadApiPath(id)}/content`;
